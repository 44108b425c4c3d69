import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { traceContextOf, withTraceHeaders } from '../src/observability/trace-context.js'
import { startFakeIntrospection } from './helpers/introspection-endpoint.js'
import { ALL_HANDLERS, startGateway, startUpstream } from './helpers/servers.js'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = '00f067aa0ba902b7'
const TRACEPARENT = `00-${TRACE_ID}-${PARENT}-01`
const GENERATED = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/

t.test('traceContextOf: valid headers pass, invalid ones start a new trace', async (t) => {
  const kept = traceContextOf({ traceparent: TRACEPARENT, tracestate: 'congo=t61rcWkgMzE, rojo=00f067aa0ba902b7' })
  t.same(kept, { traceId: TRACE_ID, traceparent: TRACEPARENT, tracestate: 'congo=t61rcWkgMzE, rojo=00f067aa0ba902b7' })
  t.same(traceContextOf({ traceparent: `01-${TRACE_ID}-${PARENT}-01-more-fields` }), {
    traceId: TRACE_ID,
    traceparent: TRACEPARENT,
    tracestate: '',
  }, 'a later version is read as 00 and sent on as 00')

  const invalid = [
    `00-${TRACE_ID.toUpperCase()}-${PARENT}-01`, // upper case
    `00-${'0'.repeat(32)}-${PARENT}-01`, // zero trace id
    `00-${TRACE_ID}-${'0'.repeat(16)}-01`, // zero parent id
    `ff-${TRACE_ID}-${PARENT}-01`, // forbidden version
    `00-${TRACE_ID}-${PARENT}-01-extra`, // version 00 has exactly 55 characters
    `${TRACEPARENT}, ${TRACEPARENT}`, // two headers, joined by Node
    'garbage',
  ]
  for (const traceparent of invalid) {
    const c = traceContextOf({ traceparent, tracestate: 'congo=t61rcWkgMzE' })
    t.match(c.traceparent, GENERATED, traceparent)
    t.not(c.traceId, TRACE_ID)
    t.equal(c.tracestate, '', 'tracestate goes with an invalid traceparent')
  }
  const a = traceContextOf({})
  const b = traceContextOf({})
  t.match(a.traceparent, GENERATED)
  t.equal(a.traceparent.slice(3, 35), a.traceId)
  t.not(a.traceId, b.traceId, 'random')

  t.same(withTraceHeaders({ TraceParent: 'old', TRACESTATE: 'old', accept: 'x' }, kept), {
    accept: 'x',
    traceparent: TRACEPARENT,
    tracestate: 'congo=t61rcWkgMzE, rojo=00f067aa0ba902b7',
  }, 'copied spellings replaced')
  const same = { accept: 'x' }
  t.equal(withTraceHeaders(same, undefined), same)
})

/** A remote_json authorizer that allows everything and records the headers it got. */
async function startAuthorizer(): Promise<{ url: string; seen: IncomingHttpHeaders[]; close(): Promise<void> }> {
  const seen: IncomingHttpHeaders[] = []
  const server = createServer((req, res) => {
    seen.push(req.headers)
    req.resume()
    req.on('end', () => res.writeHead(200).end())
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/authorize`,
    seen,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  }
}

t.test('through a real gateway: upstream, introspection and remote authorizer get the same trace; the log line has its id', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const idp = await startFakeIntrospection({ a: { active: true }, b: { active: true }, c: { active: true }, d: { active: true } })
  t.teardown(() => idp.close())
  const authz = await startAuthorizer()
  t.teardown(() => authz.close())
  const gw = await startGateway(
    {
      'rules.yml': `
- id: api
  match: { url: 'http://gw.test/api', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: oauth2_introspection }]
  authorizer: { handler: remote_json, config: { remote: '${authz.url}', payload: '{"sub":"{{ print .Subject }}"}' } }
  mutators: [{ handler: noop }]
`,
    },
    {
      authenticators: { ...ALL_HANDLERS.authenticators, oauth2_introspection: { enabled: true, config: { introspection_url: idp.url } } },
      authorizers: { ...ALL_HANDLERS.authorizers, remote_json: { enabled: true } },
    },
  )
  t.teardown(() => gw.close())

  /** One request; what the three services saw of it, and the trace id the log line names. */
  const send = async (token: string, headers: Record<string, string>, base = gw.proxy, path = '/api') => {
    const requestId = `trace-test-${token}`
    const res = await request(`${base}${path}`, { headers: { host: 'gw.test', authorization: `Bearer ${token}`, 'x-request-id': requestId, ...headers } })
    await res.body.dump()
    t.equal(res.statusCode, 200)
    const introspection = idp.calls.find((c) => c.token === token)!.headers
    // The line is written when the answer has finished, which may be a moment after the client has it.
    let line: Record<string, unknown> | undefined
    while ((line = gw.logs.find((l) => l.request_id === requestId)) === undefined) await new Promise((r) => setTimeout(r, 5))
    return { upstream: up.seen.at(-1)?.headers, introspection, authorizer: authz.seen.at(-1)!, logged: line.trace_id }
  }

  const kept = await send('a', { traceparent: TRACEPARENT, tracestate: 'vendor=1' })
  for (const [who, h] of Object.entries({ upstream: kept.upstream!, introspection: kept.introspection, authorizer: kept.authorizer })) {
    t.equal(h.traceparent, TRACEPARENT, `${who}: traceparent passed on unchanged`)
    t.equal(h.tracestate, 'vendor=1', `${who}: tracestate passed on`)
  }
  t.equal(kept.logged, TRACE_ID)

  const started = await send('b', {})
  const m = GENERATED.exec(String(started.upstream!.traceparent))
  t.ok(m, `a new trace for the upstream: ${started.upstream!.traceparent}`)
  t.equal(started.introspection.traceparent, started.upstream!.traceparent, 'the same one for introspection')
  t.equal(started.authorizer.traceparent, started.upstream!.traceparent, 'and the remote authorizer')
  t.equal(started.upstream!.tracestate, undefined)
  t.equal(started.logged, m![1], 'the log line names it')

  const replaced = await send('c', { traceparent: `00-${'0'.repeat(32)}-${PARENT}-01`, tracestate: 'vendor=1' })
  t.match(String(replaced.upstream!.traceparent), GENERATED, 'an invalid one is replaced')
  t.not(replaced.logged, '0'.repeat(32))
  t.equal(replaced.upstream!.tracestate, undefined, 'and its tracestate dropped')

  const seenByUpstream = up.seen.length
  const decision = await send('d', { traceparent: TRACEPARENT }, gw.api, '/decisions/api')
  t.equal(up.seen.length, seenByUpstream, 'the decision API does not forward')
  t.equal(decision.introspection.traceparent, TRACEPARENT, 'decision API: introspection gets the trace')
  t.equal(decision.authorizer.traceparent, TRACEPARENT)
  t.equal(decision.logged, TRACE_ID, 'the decision log line names it')
})
