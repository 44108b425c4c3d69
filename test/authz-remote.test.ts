import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PassThrough } from 'node:stream'
import { request } from 'undici'
import { GatehouseError } from '../src/errors.js'
import { authorizers } from '../src/pipeline/authz/index.js'
import { newSession, type PipelineRequest } from '../src/pipeline/session.js'
import type { Authorize } from '../src/pipeline/types.js'
import { ALL_HANDLERS, startGateway } from './helpers/servers.js'
import { build, closedPort, pipelineRequest, reply, startRecorder, testDeps } from './helpers/remote-handlers.js'

const deps = testDeps(t)
const authz = (id: string, config: Record<string, unknown>): Authorize => build(deps, authorizers(), id, config)

/** A request whose body is `body` (readBody honours the limit like the gateway's). */
function withBody(body: string, headers: Record<string, string> = {}): PipelineRequest {
  const buf = Buffer.from(body)
  return pipelineRequest({ 'content-length': String(buf.length), ...headers }, 'http://gw.test/orders', 'POST', {
    readBody: async (limit) => {
      if (buf.length > limit) throw new GatehouseError('GATEHOUSE_ERR_PAYLOAD_TOO_LARGE')
      return buf
    },
  })
}

/** undefined when allowed, else [code, status]. */
async function decide(a: Authorize, r: PipelineRequest, subject = 'alice') {
  const session = newSession(r, ['42'])
  session.Subject = subject
  try {
    await a(r, session)
    return { result: undefined, session }
  } catch (err) {
    if (!(err instanceof GatehouseError)) throw err
    return { result: [err.code, err.status] as [string, number], session, err }
  }
}

t.test('remote: POSTs the body with Content-Type, Authorization and rendered headers', async (t) => {
  const remote = await startRecorder(t, reply(200))
  const a = authz('remote', { remote: `${remote.url}/check`, headers: { 'X-Subject': '{{ print .Subject }}', 'X-Empty': '{{ if .Extra.none }}x{{ end }}' } })
  const { result } = await decide(a, withBody('{"amount":5}', { 'content-type': 'application/json', authorization: 'Bearer t', cookie: 'c=1' }))
  t.equal(result, undefined, 'allowed')
  const seen = remote.seen[0]!
  t.same([seen.method, seen.url, seen.body], ['POST', '/check', '{"amount":5}'])
  t.equal(seen.headers['content-type'], 'application/json')
  t.equal(seen.headers.authorization, 'Bearer t')
  t.equal(seen.headers['x-subject'], 'alice')
  t.notOk('x-empty' in seen.headers, 'an empty rendered header is not sent')
  t.notOk('cookie' in seen.headers, 'other client headers are not sent')
})

t.test('remote and remote_json: 200 allows, 403 denies, anything else fails closed', async (t) => {
  const remote = await startRecorder(t)
  // One attempt each (max_delay 0s), with a budget a busy machine's answer fits in with room to spare.
  const r = authz('remote', { remote: remote.url, retry: { give_up_after: '10s', max_delay: '0s' } })
  const j = authz('remote_json', { remote: remote.url, payload: '{}', retry: { give_up_after: '10s', max_delay: '0s' } })
  const cases: Array<[status: number, remote: [string, number] | undefined, json: [string, number] | undefined]> = [
    [200, undefined, undefined],
    [403, ['GATEHOUSE_ERR_FORBIDDEN', 403], ['GATEHOUSE_ERR_FORBIDDEN', 403]],
    [429, ['GATEHOUSE_ERR_TOO_MANY_REQUESTS', 429], ['GATEHOUSE_ERR_INTERNAL', 500]],
    [201, ['GATEHOUSE_ERR_INTERNAL', 500], ['GATEHOUSE_ERR_INTERNAL', 500]],
    [302, ['GATEHOUSE_ERR_INTERNAL', 500], ['GATEHOUSE_ERR_INTERNAL', 500]],
    [401, ['GATEHOUSE_ERR_INTERNAL', 500], ['GATEHOUSE_ERR_INTERNAL', 500]],
    [404, ['GATEHOUSE_ERR_INTERNAL', 500], ['GATEHOUSE_ERR_INTERNAL', 500]],
    [500, ['GATEHOUSE_ERR_INTERNAL', 500], ['GATEHOUSE_ERR_INTERNAL', 500]],
  ]
  for (const [status, wantRemote, wantJson] of cases) {
    remote.answer(reply(status, '', { 'retry-after': '9', location: '/x' }))
    const rr = await decide(r, withBody('b'))
    t.same(rr.result, wantRemote, `remote ${status}`)
    if (status === 429) t.same(rr.err?.headers, { 'retry-after': '9' }, 'remote: 429 keeps Retry-After')
    t.same((await decide(j, withBody('b'))).result, wantJson, `remote_json ${status}`)
  }
  const port = await closedPort()
  const gone = authz('remote', { remote: `http://127.0.0.1:${port}/`, retry: { give_up_after: '100ms' } })
  const { result, err } = await decide(gone, withBody('b'))
  t.same(result, ['GATEHOUSE_ERR_INTERNAL', 500], 'unreachable → 500')
  t.match(err?.reason, /remote authorizer could not be reached/)

  const hanging = await startRecorder(t, () => {})
  // Twice the default budget (1 s), so that the bounds below tell the configured one from it.
  const giveUpMs = 2000
  const slow = authz('remote_json', { remote: hanging.url, payload: '{}', retry: { give_up_after: `${giveUpMs}ms`, max_delay: '50ms' } })
  const started = Date.now()
  const timedOut = await decide(slow, withBody(''))
  const ms = Date.now() - started
  t.same(timedOut.result, ['GATEHOUSE_ERR_INTERNAL', 500], 'no answer within give_up_after → 500')
  t.match(timedOut.err?.reason, /could not be reached: timed out/)
  t.ok(ms >= giveUpMs - 10 && ms < 2 * giveUpMs, `bounded by give_up_after, the whole call not each attempt (${ms}ms)`)
})

t.test('forward_response_headers_to_upstream copies the listed headers, set empty when absent', async (t) => {
  const remote = await startRecorder(t, reply(200, '', { 'x-user-role': 'admin', 'x-secret': 'no' }))
  for (const id of ['remote', 'remote_json']) {
    const a = authz(id, { remote: remote.url, ...(id === 'remote_json' ? { payload: '{}' } : {}), forward_response_headers_to_upstream: ['X-User-Role', 'X-Tenant'] })
    const r = withBody('')
    const session = newSession(r, [])
    session.Header['x-tenant'] = 'from-an-earlier-step'
    await a(r, session)
    t.same(session.Header, { 'X-User-Role': 'admin', 'X-Tenant': '' }, id)
  }
  t.throws(() => authz('remote', { remote: remote.url, forward_response_headers_to_upstream: ['Bad Name'] }), /not a valid header name/)
})

t.test('remote_json: renders the payload, refuses one that is not JSON without calling', async (t) => {
  const remote = await startRecorder(t, reply(200))
  const a = authz('remote_json', {
    remote: `${remote.url}/authorize`,
    payload: '{"subject":"{{ print .Subject }}","resource":"{{ index .MatchContext.RegexpCaptureGroups 0 }}"}',
    headers: { 'X-Method': '{{ .MatchContext.Method }}' },
  })
  t.equal((await decide(a, withBody('ignored', { authorization: 'Bearer t', 'content-type': 'text/plain' }))).result, undefined)
  const seen = remote.seen[0]!
  t.same(JSON.parse(seen.body), { subject: 'alice', resource: '42' })
  t.equal(seen.headers['content-type'], 'application/json')
  t.equal(seen.headers.authorization, 'Bearer t')
  t.equal(seen.headers['x-method'], 'POST')
  const { result, err } = await decide(a, withBody(''), 'bob "the" builder')
  t.same(result, ['GATEHOUSE_ERR_TEMPLATE', 500])
  t.match(err?.reason, /payload is not a JSON text/)
  t.equal(remote.seen.length, 1, 'the authorizer was not called')
  t.throws(() => authz('remote_json', { remote: remote.url, payload: '{{ nosuch }}' }), /nosuch/)
  t.throws(() => authz('remote_json', { remote: remote.url }), /payload/)
})

/** An upstream that records bodies and reports when the first body byte arrives. */
async function bodyUpstream() {
  const seen: Array<{ url: string; body: string; headers: Record<string, unknown> }> = []
  let firstByte: () => void = () => {}
  const firstBytes: Promise<void>[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => {
      if (chunks.length === 0) firstByte()
      chunks.push(c)
    })
    req.on('end', () => {
      seen.push({ url: req.url ?? '', body: Buffer.concat(chunks).toString(), headers: req.headers })
      res.writeHead(200, { 'content-type': 'text/plain' }).end('upstream ok')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    nextFirstByte(): Promise<void> {
      const p = new Promise<void>((r) => (firstByte = r))
      firstBytes.push(p)
      return p
    },
  }
}

t.test('through the gateway: the body is buffered for `remote` and still reaches upstream; others stream', async (t) => {
  const authorizer = await startRecorder(t, reply(200))
  const upstream = await bodyUpstream()
  const rule = (id: string, path: string, authorizer: Record<string, unknown>) => ({
    id,
    match: { url: `http://<.*>${path}`, methods: ['POST'] },
    upstream: { url: upstream.url },
    authenticators: [{ handler: 'noop' }],
    authorizer,
    mutators: [{ handler: 'noop' }],
  })
  const gw = await startGateway(
    {
      'rules.json': JSON.stringify([
        rule('checked', '/checked', { handler: 'remote', config: { max_body_size: 1024 } }),
        rule('open', '/open', { handler: 'allow' }),
      ]),
    },
    { authorizers: { ...ALL_HANDLERS.authorizers, remote: { enabled: true, config: { remote: `${authorizer.url}/authz` } } } },
  )
  t.teardown(() => gw.close())

  const body = 'x'.repeat(1000)
  const ok = await request(`${gw.proxy}/checked`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } })
  t.equal(ok.statusCode, 200)
  t.equal(await ok.body.text(), 'upstream ok')
  t.equal(authorizer.seen[0]!.body, body, 'the authorizer saw the whole body')
  t.equal(authorizer.seen[0]!.headers['content-type'], 'text/plain')
  t.equal(upstream.seen[0]!.body, body, 'and upstream still received it')
  t.equal(upstream.seen[0]!.headers['content-length'], '1000')

  // Chunked (no Content-Length): buffered the same way.
  const chunked = new PassThrough()
  const pending = request(`${gw.proxy}/checked`, { method: 'POST', body: chunked })
  chunked.end('chunked body')
  const c = await pending
  t.equal(c.statusCode, 200)
  await c.body.dump()
  t.equal(authorizer.seen[1]!.body, 'chunked body')
  t.equal(upstream.seen[1]!.body, 'chunked body')

  for (const [name, opts] of [
    ['declared too large', { body: 'y'.repeat(1025) }],
    ['chunked past the limit', { body: (() => { const s = new PassThrough(); s.end('z'.repeat(5000)); return s })() }],
  ] as const) {
    const tooBig = await request(`${gw.proxy}/checked`, { method: 'POST', ...opts })
    t.equal(tooBig.statusCode, 413, name)
    t.same(await tooBig.body.json(), { error: { code: 413, status: 'Payload Too Large', message: 'The request body is larger than this rule allows' } })
  }
  t.equal(authorizer.seen.length, 2, 'too large bodies never reach the authorizer')
  t.equal(upstream.seen.length, 2, 'nor upstream')

  // A rule without `remote` streams: upstream sees the first chunk while the client still sends.
  const stream = new PassThrough()
  const first = upstream.nextFirstByte()
  const streaming = request(`${gw.proxy}/open`, { method: 'POST', body: stream })
  stream.write('part one;')
  await Promise.race([first, new Promise((_, reject) => setTimeout(() => reject(new Error('upstream saw nothing: the body was buffered')), 20_000))])
  stream.end('part two')
  const s = await streaming
  t.equal(s.statusCode, 200)
  await s.body.dump()
  t.equal(upstream.seen[2]!.body, 'part one;part two')
  t.equal(authorizer.seen.length, 2)
})

t.test('decision API: `remote` gets the decision request body (what the proxy in front sends)', async (t) => {
  const authorizer = await startRecorder(t, reply(200, '', { 'x-role': 'admin' }))
  const gw = await startGateway(
    {
      'rules.json': JSON.stringify([
        {
          id: 'd',
          match: { url: 'http://<.*>/api/<.*>', methods: ['POST', 'GET'] },
          authenticators: [{ handler: 'noop' }],
          authorizer: { handler: 'remote', config: { forward_response_headers_to_upstream: ['X-Role'] } },
          mutators: [{ handler: 'noop' }],
        },
      ]),
    },
    { authorizers: { ...ALL_HANDLERS.authorizers, remote: { enabled: true, config: { remote: authorizer.url } } } },
  )
  t.teardown(() => gw.close())
  const withBody = await request(`${gw.api}/decisions/api/x`, { method: 'POST', body: 'envoy-forwarded', headers: { host: 'gw.test' } })
  t.equal(withBody.statusCode, 200)
  t.equal(withBody.headers['x-role'], 'admin', 'forwarded response headers are returned to the proxy')
  await withBody.body.dump()
  t.equal(authorizer.seen[0]!.body, 'envoy-forwarded')
  const without = await request(`${gw.api}/decisions/api/x`, { headers: { host: 'gw.test', 'x-forwarded-method': 'POST' } })
  t.equal(without.statusCode, 200)
  await without.body.dump()
  t.equal(authorizer.seen[1]!.body, '', 'nginx auth_request sends no body: the authorizer gets none')
})
