import t from 'tap'
import { request } from 'undici'
import { ConfigError, GatehouseError } from '../src/errors.js'
import { mutators } from '../src/pipeline/mutate/index.js'
import { canonicalHeader } from '../src/pipeline/mutate/session-json.js'
import { newSession, type AuthenticationSession, type PipelineRequest } from '../src/pipeline/session.js'
import type { Mutate } from '../src/pipeline/types.js'
import { ALL_HANDLERS, startGateway, startUpstream } from './helpers/servers.js'
import { build, closedPort, pipelineRequest, reply, startRecorder, testDeps, type Responder } from './helpers/remote-handlers.js'
import { until } from './helpers/wait.js'

const deps = testDeps(t)
const mutator = (id: string, config: Record<string, unknown>): Mutate => build(deps, mutators(), id, config)

function session(r: PipelineRequest, subject = 'alice', extra: Record<string, unknown> = {}): AuthenticationSession {
  const s = newSession(r, ['42'])
  s.Subject = subject
  s.Extra = extra
  return s
}

async function failure(m: Mutate, r: PipelineRequest, s: AuthenticationSession): Promise<GatehouseError> {
  try {
    await m(r, s)
  } catch (err) {
    if (err instanceof GatehouseError) return err
    throw err
  }
  throw new Error('expected a failure')
}

/** Echoes the session back with extra/header added, as a typical hydrator does. */
const enrich: Responder = (r, res) => {
  const s = JSON.parse(r.body) as { subject: string; extra: Record<string, unknown>; header: Record<string, string[]> }
  reply(200, { ...s, extra: { ...s.extra, tenant: 'acme' }, header: { ...s.header, 'X-Tenant': ['acme'] } })(r, res)
}

t.test('cookie: rule cookies first, then the client cookies the rule does not set', async (t) => {
  const m = mutator('cookie', { cookies: { user: '{{ print .Subject }}', theme: 'dark', note: '{{ .Extra.note }}' } })
  const cases: Array<[name: string, incoming: string | undefined, note: string, want: string]> = [
    ['no client cookies', undefined, 'hi', 'user=alice; theme=dark; note=hi'],
    ['client cookies kept, same names replaced', 'sid=s1; theme=light; "q"=1; lang="en"', 'hi', 'user=alice; theme=dark; note=hi; sid=s1; lang=en'],
    ['a space or comma is quoted', undefined, 'a b,c', 'user=alice; theme=dark; note="a b,c"'],
    ['bytes a cookie cannot hold are dropped', undefined, 'x;y"z\\w\u00e9', 'user=alice; theme=dark; note=xyzw'],
  ]
  for (const [name, incoming, note, want] of cases) {
    const r = pipelineRequest(incoming === undefined ? {} : { cookie: incoming })
    const s = session(r, 'alice', { note })
    s.Header.cookie = 'from an earlier mutator'
    await m(r, s)
    t.same(s.Header, { Cookie: want }, name)
  }
  t.throws(() => mutator('cookie', { cookies: { 'bad name': 'x' } }), ConfigError)
  t.throws(() => mutator('cookie', { cookies: { ok: '{{ nosuch }}' } }), /nosuch/)
  t.throws(() => mutator('cookie', {}), /cookies/)
})

t.test('hydrator: POSTs the session in Oathkeeper’s JSON shape with the client headers and query', async (t) => {
  const api = await startRecorder(t, enrich)
  const m = mutator('hydrator', { api: { url: `${api.url}/hydrate?dropped=1`, auth: { basic: { username: 'gw', password: 'pw' } } } })
  const r = pipelineRequest({ authorization: 'Bearer client', 'x-trace': ['a', 'b'], host: 'gw.test', 'content-length': '0' }, 'http://gw.test/users/a%2Fb?view=full')
  const s = session(r, 'alice', { plan: 'pro' })
  s.Header['x-user'] = 'alice'
  await m(r, s)

  const seen = api.seen[0]!
  t.same([seen.method, seen.url], ['POST', '/hydrate?view=full'], "the client's query replaces the API URL's")
  t.equal(seen.headers['content-type'], 'application/json')
  t.equal(seen.headers.authorization, `Basic ${Buffer.from('gw:pw').toString('base64')}`, 'api.auth.basic replaces the client Authorization')
  t.equal(seen.headers['x-trace'], 'a, b')
  t.same(JSON.parse(seen.body), {
    subject: 'alice',
    extra: { plan: 'pro' },
    header: { 'X-User': ['alice'] },
    match_context: {
      regexp_capture_groups: ['42'],
      url: {
        Scheme: 'http', Opaque: '', User: null, Host: 'gw.test', Path: '/users/a/b', RawPath: '/users/a%2Fb',
        OmitHost: false, ForceQuery: false, RawQuery: 'view=full', Fragment: '', RawFragment: '',
      },
      method: 'GET',
      header: { Authorization: ['Bearer client'], 'X-Trace': ['a', 'b'], 'Content-Length': ['0'] },
    },
  })
  t.equal(s.Subject, 'alice')
  t.same(s.Extra, { plan: 'pro', tenant: 'acme' }, 'extra replaced by the answer')
  t.same(s.Header, { 'X-User': 'alice', 'X-Tenant': 'acme' }, 'header replaced by the answer')
  t.same(['x-user-id', 'X-USER', 'content-md5', 'a_b'].map(canonicalHeader), ['X-User-Id', 'X-User', 'Content-Md5', 'a_b'])
})

t.test('hydrator: anything but a 200 for the same subject is a 500', async (t) => {
  const api = await startRecorder(t)
  const m = mutator('hydrator', { api: { url: api.url } })
  const withCreds = mutator('hydrator', { api: { url: api.url, auth: { basic: { username: 'u', password: 'p' } } } })
  const cases: Array<[name: string, answer: Responder, reason: RegExp, m?: Mutate]> = [
    ['another subject', reply(200, { subject: 'mallory', extra: {} }), /another subject/],
    ['401 without credentials', reply(401), /none are configured/],
    ['401 with credentials', reply(401), /refused the configured credentials/, withCreds],
    ['403', reply(403), /answered 403/],
    ['500', reply(500), /answered 500/],
    ['not JSON', reply(200, 'ok'), /not JSON/],
    ['extra not an object', reply(200, { subject: 'alice', extra: 'x' }), /extra is not an object/],
    ['header not lists of strings', reply(200, { subject: 'alice', header: { 'X-A': [1] } }), /X-A/],
    ['header value with CR/LF', reply(200, { subject: 'alice', header: { 'X-A': ['a\r\nX-Admin: 1'] } }), /control character/],
  ]
  for (const [name, answer, reason, which] of cases) {
    api.answer(answer)
    const r = pipelineRequest()
    const s = session(r, 'alice', { keep: true })
    const err = await failure(which ?? m, r, s)
    t.same([err.code, err.status], ['GATEHOUSE_ERR_INTERNAL', 500], name)
    t.match(err.reason, reason, `${name}: reason`)
    t.same(s.Extra, { keep: true }, `${name}: session untouched`)
  }
  const gone = mutator('hydrator', { api: { url: `http://127.0.0.1:${await closedPort()}/` } })
  const err = await failure(gone, pipelineRequest(), session(pipelineRequest()))
  t.same([err.code, err.status], ['GATEHOUSE_ERR_INTERNAL', 500], 'unreachable')
})

t.test('hydrator cache: keyed by the session JSON, copies out, expires after ttl', async (t) => {
  const api = await startRecorder(t, enrich)
  // Long enough that a busy machine asks again well within it.
  const ttlMs = 3000
  const m = mutator('hydrator', { api: { url: api.url }, cache: { enabled: true, ttl: `${ttlMs}ms` } })
  const run = async (subject: string) => {
    const r = pipelineRequest()
    const s = session(r, subject)
    await m(r, s)
    return s
  }
  const first = await run('alice')
  const cachedBy = Date.now()
  first.Extra.tenant = 'changed by a later mutator'
  const second = await run('alice')
  t.equal(api.seen.length, 1, 'the same session JSON is answered from the cache')
  t.same(second.Extra, { tenant: 'acme' }, 'a cached answer is a fresh copy')
  await run('bob')
  t.equal(api.seen.length, 2, 'another session is another key')
  await until(() => Date.now() > cachedBy + ttlMs, 'the ttl to pass')
  await run('alice')
  t.equal(api.seen.length, 3, 'expired')
  const uncached = mutator('hydrator', { api: { url: api.url } })
  const r = pipelineRequest()
  await uncached(r, session(r))
  await uncached(r, session(r))
  t.equal(api.seen.length, 5, 'cache.enabled defaults to false')
  t.throws(() => mutator('hydrator', { api: { url: api.url }, cache: { enabled: true, ttl: 'soon' } }), /cache\.ttl/)
})

t.test('hydrator api.retry: a 503 is tried again', async (t) => {
  let calls = 0
  const api = await startRecorder(t, (r, res) => (++calls === 1 ? reply(503)(r, res) : enrich(r, res)))
  const m = mutator('hydrator', { api: { url: api.url, retry: { give_up_after: '2s', max_delay: '10ms' } } })
  const r = pipelineRequest()
  const s = session(r)
  await m(r, s)
  t.equal(api.seen.length, 2)
  t.equal(s.Extra.tenant, 'acme')
})

t.test('through the gateway: hydrator then cookie and header mutators build what upstream sees', async (t) => {
  const api = await startRecorder(t, enrich)
  const upstream = await startUpstream()
  t.teardown(() => upstream.close())
  const rule = {
    id: 'hydrated',
    match: { url: 'http://<.*>/h', methods: ['GET'] },
    upstream: { url: upstream.url },
    authenticators: [{ handler: 'anonymous' }],
    authorizer: { handler: 'allow' },
    mutators: [
      { handler: 'hydrator' },
      { handler: 'cookie', config: { cookies: { tenant: '{{ .Extra.tenant }}' } } },
      { handler: 'header', config: { headers: { 'X-User': '{{ print .Subject }}' } } },
    ],
  }
  const gw = await startGateway(
    { 'rules.json': JSON.stringify([rule]) },
    {
      mutators: {
        ...ALL_HANDLERS.mutators,
        hydrator: { enabled: true, config: { api: { url: api.url } } },
        cookie: { enabled: true, config: { cookies: {} } },
      },
    },
  )
  t.teardown(() => gw.close())
  const res = await request(`${gw.proxy}/h`, { headers: { cookie: 'sid=1; tenant=evil' } })
  t.equal(res.statusCode, 200)
  await res.body.dump()
  const seen = upstream.seen[0]!.headers
  t.equal(seen.cookie, 'tenant=acme; sid=1')
  t.equal(seen['x-tenant'], 'acme', 'a header from the hydrator answer')
  t.equal(seen['x-user'], 'anonymous')

  api.answer(reply(200, { subject: 'root' }))
  const refused = await request(`${gw.proxy}/h`)
  t.equal(refused.statusCode, 500, 'a hydrator switching subjects is refused')
  await refused.body.dump()
  t.equal(upstream.seen.length, 1)
})
