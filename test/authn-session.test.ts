import t from 'tap'
import { request } from 'undici'
import { ConfigError, GatehouseError } from '../src/errors.js'
import { authenticators } from '../src/pipeline/authn/index.js'
import { compileJsonPath } from '../src/pipeline/authn/json-path.js'
import { newSession, type PipelineRequest } from '../src/pipeline/session.js'
import type { Authenticate } from '../src/pipeline/types.js'
import { ALL_HANDLERS, startGateway, startUpstream } from './helpers/servers.js'
import { build, closedPort, pipelineRequest, reply, startRecorder, testDeps } from './helpers/remote-handlers.js'

const deps = testDeps(t)
const authn = (id: string, config: Record<string, unknown>): Authenticate => build(deps, authenticators(), id, config)

async function run(a: Authenticate, r: PipelineRequest) {
  const session = newSession(r, [])
  const ok = await a(r, session)
  return { ok, session }
}

async function rejects(a: Authenticate, r: PipelineRequest): Promise<GatehouseError> {
  try {
    await a(r, newSession(r, []))
  } catch (err) {
    if (err instanceof GatehouseError) return err
    throw err
  }
  throw new Error('expected a rejection')
}

const bearer = (token: string, extra: Record<string, string> = {}) => pipelineRequest({ authorization: `Bearer ${token}`, ...extra })

t.test('json paths: the GJSON subset reads what Oathkeeper configs use', async (t) => {
  const doc = { subject: 'alice', 'a.b': 1, identity: { id: 'u-1', traits: { email: 'a@x' } }, roles: ['admin', 'dev'], '0': 'zero' }
  const cases: Array<[path: string, want: unknown]> = [
    ['subject', 'alice'],
    ['identity.id', 'u-1'],
    ['identity.traits.email', 'a@x'],
    ['roles.1', 'dev'],
    ['roles.2', undefined],
    ['roles.#', 2],
    ['a\\.b', 1],
    ['0', 'zero'],
    ['@this', doc],
    ['@this.identity.id', 'u-1'],
    ['missing.deeper', undefined],
    ['constructor', undefined],
    ['__proto__', undefined],
    ['roles.length', undefined],
    ['subject.length', undefined],
  ]
  for (const [path, want] of cases) t.same(compileJsonPath(path, 'p')(doc), want, path)
  for (const bad of ['roles.#.name', 'roles.#(name=="x")', 'ro*es', 'a|b', '@reverse', 'a..b', '', 'a\\']) {
    t.throws(() => compileJsonPath(bad, 'subject_from'), ConfigError, `refused: ${bad}`)
  }
  t.throws(() => authn('bearer_token', { check_session_url: 'http://127.0.0.1:1/s', subject_from: 'a.*' }), /subject_from: "a\.\*" uses "\*"/)
})

t.test('bearer_token: not responsible without a bearer token or with another prefix', async (t) => {
  const store = await startRecorder(t, reply(200, { sub: 'alice' }))
  const a = authn('bearer_token', { check_session_url: `${store.url}/session`, prefix: 'ory_st_' })
  for (const headers of [{}, { authorization: 'Basic YTpi' }, { authorization: 'Bearer ' }, { authorization: 'Bearer ory_at_x' }]) {
    t.equal((await run(a, pipelineRequest(headers))).ok, false, JSON.stringify(headers))
  }
  t.equal(store.seen.length, 0, 'the session store was never asked')
  const { ok, session } = await run(a, bearer('ory_st_abc'))
  t.equal(ok, true)
  t.equal(session.Subject, 'alice', 'subject_from defaults to "sub" for bearer_token')
})

t.test('bearer_token: the check carries Authorization, the listed headers, and the request path', async (t) => {
  const store = await startRecorder(t, reply(200, { sub: 'alice', extra: { tenant: 'acme' } }))
  const a = authn('bearer_token', {
    check_session_url: `${store.url}/whoami?from=gw`,
    forward_http_headers: ['X-Tenant', 'cookie'],
    additional_headers: { 'X-Api-Key': 'k-1', 'x-tenant': 'forced' },
    preserve_host: true,
  })
  const { ok, session } = await run(a, bearer('tok-1', { 'x-tenant': 'client', cookie: 'sid=1', 'x-other': 'no', 'content-length': '3' }))
  t.equal(ok, true)
  t.equal(session.Subject, 'alice')
  t.same(session.Extra, { tenant: 'acme' })
  const seen = store.seen[0]!
  t.equal(seen.method, 'GET')
  t.equal(seen.url, '/users/42?from=gw', 'request path, the check URL query (preserve_query defaults to true)')
  t.equal(seen.headers.authorization, 'Bearer tok-1')
  t.equal(seen.headers.cookie, 'sid=1')
  t.equal(seen.headers['x-tenant'], 'forced', 'additional_headers replace copied ones')
  t.equal(seen.headers['x-api-key'], 'k-1')
  t.equal(seen.headers['x-forwarded-host'], 'gw.test')
  t.notOk('x-other' in seen.headers, 'unlisted headers stay behind')
})

t.test('preserve_path / preserve_query / force_method decide what the check asks for', async (t) => {
  const store = await startRecorder(t, reply(200, { sub: 'x' }))
  const cases: Array<[config: Record<string, unknown>, method: string, url: string]> = [
    [{}, 'POST', '/users/42?from=gw'],
    [{ preserve_path: true }, 'POST', '/base/whoami?from=gw'],
    [{ preserve_query: false }, 'POST', '/users/42?view=full'],
    [{ preserve_path: true, preserve_query: false }, 'POST', '/base/whoami?view=full'],
    [{ force_method: 'get' }, 'GET', '/users/42?from=gw'],
  ]
  for (const [config, method, url] of cases) {
    const a = authn('bearer_token', { check_session_url: `${store.url}/base/whoami?from=gw`, ...config })
    await run(a, pipelineRequest({ authorization: 'Bearer t' }, 'http://gw.test/users/42?view=full', 'POST'))
    const seen = store.seen.at(-1)!
    t.same([seen.method, seen.url], [method, url], JSON.stringify(config))
  }
})

t.test('session answers: subject_from / extra_from paths and their failures', async (t) => {
  const store = await startRecorder(t)
  const cases: Array<{ name: string; body: unknown; config?: Record<string, unknown>; subject?: string; extra?: unknown; error?: [string, number] }> = [
    { name: 'Kratos whoami', body: { identity: { id: 'u-1' }, active: true }, config: { subject_from: 'identity.id', extra_from: '@this' }, subject: 'u-1', extra: { identity: { id: 'u-1' }, active: true } },
    { name: 'missing subject and extra read as empty', body: { other: 1 }, subject: '', extra: {} },
    { name: 'null extra', body: { sub: 'a', extra: null }, subject: 'a', extra: {} },
    { name: 'empty body (HEAD-like answer)', body: '', subject: '', extra: {} },
    { name: 'subject is a number → 403', body: { sub: 42 }, error: ['GATEHOUSE_ERR_FORBIDDEN', 403] },
    { name: 'extra is a list → 403', body: { sub: 'a', extra: [1] }, error: ['GATEHOUSE_ERR_FORBIDDEN', 403] },
    { name: 'body is not JSON → 500 (fail closed)', body: '<html>ok</html>', error: ['GATEHOUSE_ERR_INTERNAL', 500] },
  ]
  for (const c of cases) {
    store.answer(reply(200, c.body))
    const a = authn('bearer_token', { check_session_url: store.url, ...c.config })
    if (c.error !== undefined) {
      const err = await rejects(a, bearer('t'))
      t.same([err.code, err.status], c.error, c.name)
      continue
    }
    const { ok, session } = await run(a, bearer('t'))
    t.equal(ok, true, c.name)
    t.equal(session.Subject, c.subject, `${c.name}: subject`)
    t.same(session.Extra, c.extra, `${c.name}: extra`)
  }
})

t.test('session endpoint statuses: 429 passed on with its rate-limit headers, anything else 401', async (t) => {
  const store = await startRecorder(t)
  const a = authn('cookie_session', { check_session_url: store.url })
  for (const status of [401, 403, 404, 500, 302, 204]) {
    store.answer(reply(status, { sub: 'would-be' }, status === 302 ? { location: '/elsewhere' } : {}))
    const err = await rejects(a, pipelineRequest({ cookie: 'sid=1' }))
    t.same([err.code, err.status, err.reason], ['GATEHOUSE_ERR_UNAUTHORIZED', 401, `cookie_session check_session_url answered ${status}`], `${status} → 401`)
  }
  store.answer(reply(429, 'slow down', { 'retry-after': '30', 'x-ratelimit-remaining': '0', 'x-other': 'no' }))
  const err = await rejects(a, pipelineRequest({ cookie: 'sid=1' }))
  t.equal(err.status, 429)
  t.same(err.headers, { 'retry-after': '30', 'x-ratelimit-remaining': '0' })
})

t.test('session endpoint unreachable → 503, never authenticated', async (t) => {
  const port = await closedPort()
  const a = authn('cookie_session', { check_session_url: `http://127.0.0.1:${port}/s` })
  const err = await rejects(a, pipelineRequest({ cookie: 'sid=1' }))
  t.equal(err.code, 'GATEHOUSE_ERR_UNAVAILABLE')
  t.equal(err.status, 503)
  t.match(err.reason, /cookie_session check_session_url could not be reached: ECONNREFUSED/)
})

t.test('cookie_session: responsible for cookies (or the `only` ones); sends Cookie, not Authorization', async (t) => {
  const store = await startRecorder(t, reply(200, { subject: 'bob', extra: { aal: 'aal1' } }))
  const any = authn('cookie_session', { check_session_url: store.url })
  const only = authn('cookie_session', { check_session_url: store.url, only: ['ory_session', 'sid'] })
  t.equal((await run(any, pipelineRequest({ authorization: 'Bearer x' }))).ok, false, 'no cookie')
  t.equal((await run(only, pipelineRequest({ cookie: 'theme=dark; lang=en' }))).ok, false, 'no listed cookie')
  t.equal(store.seen.length, 0)
  const { ok, session } = await run(only, pipelineRequest({ cookie: 'theme=dark; sid=', authorization: 'Bearer x' }))
  t.equal(ok, true, 'a present cookie counts even when empty')
  t.equal(session.Subject, 'bob', 'subject_from defaults to "subject" for cookie_session')
  t.same(session.Extra, { aal: 'aal1' })
  t.equal(store.seen[0]!.headers.cookie, 'theme=dark; sid=')
  t.notOk('authorization' in store.seen[0]!.headers)
})

t.test('bearer_token with token_from reads the token elsewhere', async (t) => {
  const store = await startRecorder(t, reply(200, { sub: 'q' }))
  const a = authn('bearer_token', { check_session_url: store.url, token_from: { query_parameter: 'token' }, preserve_query: false })
  t.equal((await run(a, pipelineRequest({ authorization: 'Bearer x' }))).ok, false, 'Authorization is not where this rule looks')
  const { ok, session } = await run(a, pipelineRequest({}, 'http://gw.test/a?token=abc'))
  t.equal(ok, true)
  t.equal(session.Subject, 'q')
  t.equal(store.seen[0]!.url, '/a?token=abc', 'the query (with the token) reaches the check')
})

t.test('config problems are found at load', async (t) => {
  t.throws(() => authn('cookie_session', { check_session_url: 'not a url' }), /check_session_url: "not a url" is not a valid URL/)
  t.throws(() => authn('cookie_session', { check_session_url: 'ftp://x/s' }), /must be an http or https URL/)
  t.throws(() => authn('cookie_session', {}), /check_session_url/)
  t.throws(() => authn('bearer_token', { check_session_url: 'http://x/', token_from: { header: 'a', cookie: 'b' } }), /token_from/)
})

t.test('through the gateway: cookie_session subject reaches upstream; 429 keeps Retry-After', async (t) => {
  const store = await startRecorder(t, reply(200, { subject: 'carol' }))
  const upstream = await startUpstream()
  t.teardown(() => upstream.close())
  const rule = {
    id: 'session',
    match: { url: 'http://<.*>/app/<.*>', methods: ['GET'] },
    upstream: { url: upstream.url },
    authenticators: [{ handler: 'cookie_session' }],
    authorizer: { handler: 'allow' },
    mutators: [{ handler: 'header', config: { headers: { 'X-User': '{{ print .Subject }}' } } }],
  }
  const gw = await startGateway(
    { 'rules.json': JSON.stringify([rule]) },
    { authenticators: { ...ALL_HANDLERS.authenticators, cookie_session: { enabled: true, config: { check_session_url: `${store.url}/sessions/whoami`, preserve_path: true } } } },
  )
  t.teardown(() => gw.close())
  const ok = await request(`${gw.proxy}/app/x`, { headers: { cookie: 'ory_session=s1' } })
  t.equal(ok.statusCode, 200)
  await ok.body.dump()
  t.equal(upstream.seen[0]!.headers['x-user'], 'carol')
  t.equal(store.seen[0]!.url, '/sessions/whoami')

  const none = await request(`${gw.proxy}/app/x`)
  t.equal(none.statusCode, 401, 'no cookie: no authenticator responsible')
  await none.body.dump()

  store.answer(reply(429, '', { 'retry-after': '7' }))
  const limited = await request(`${gw.proxy}/app/x`, { headers: { cookie: 'ory_session=s1' } })
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['retry-after'], '7')
  t.same(await limited.body.json(), { error: { code: 429, status: 'Too Many Requests', message: 'Too many requests' } })
  t.equal(upstream.seen.length, 1, 'the limited request never reached upstream')
})
