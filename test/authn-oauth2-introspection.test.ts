import t from 'tap'
import { createHash } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Ajv } from 'ajv'
import { pino } from 'pino'
import { Agent, request } from 'undici'
import { ConfigError, GatehouseError } from '../src/errors.js'
import { authenticators } from '../src/pipeline/authn/index.js'
import { IntrospectionCache } from '../src/pipeline/authn/introspection/cache.js'
import type { ClientCredentialsToken } from '../src/pipeline/authn/introspection/pre-authorization.js'
import { newSession, type AuthenticationSession, type PipelineRequest } from '../src/pipeline/session.js'
import { SharedResources } from '../src/pipeline/shared.js'
import type { Authenticate, HandlerDeps } from '../src/pipeline/types.js'
import { ALL_HANDLERS, startGateway, startUpstream } from './helpers/servers.js'
import { basic, call, startTokenServer } from './helpers/token-server.js'
import { until } from './helpers/wait.js'

// ---------------------------------------------------------------------------------------------
// Fixtures: the real token server, a fake RFC 7662 endpoint, and a `build` like a rule load.

const ts = await startTokenServer()
t.teardown(() => ts.close())
const INTROSPECT = `${ts.adminUrl}/admin/oauth2/introspect`
const ISSUER = 'http://127.0.0.1:4444/'
const agent = new Agent()
/** Every newDeps() bag: a cached handler follows the token server's revocation feed until its bag is closed. */
const allShared: SharedResources[] = []
t.teardown(async () => {
  for (const s of allShared) await s.close()
  await agent.close()
})

async function client(id: string, scope: string, opts: { audience?: string[]; lifespan?: string } = {}): Promise<void> {
  const r = await call('POST', `${ts.adminUrl}/admin/clients`, {
    json: {
      client_id: id,
      client_secret: `secret-${id}`,
      grant_types: ['client_credentials'],
      scope,
      audience: opts.audience ?? [],
      ...(opts.lifespan === undefined ? {} : { client_credentials_grant_access_token_lifespan: opts.lifespan }),
    },
  })
  if (r.status !== 201) throw new Error(`client ${id}: ${JSON.stringify(r.body)}`)
}

async function token(id: string, scope: string, audience?: string): Promise<string> {
  const form: Record<string, string> = { grant_type: 'client_credentials', scope }
  if (audience !== undefined) form.audience = audience
  const r = await call('POST', `${ts.publicUrl}/oauth2/token`, { form, headers: basic(id, `secret-${id}`) })
  if (r.status !== 200) throw new Error(`token ${id}: ${JSON.stringify(r.body)}`)
  return r.body.access_token as string
}

await client('svc', 'foo foo.bar foo.* * api', { audience: ['https://api.test', 'https://other.test'] })

interface FakeCall {
  readonly form: URLSearchParams
  readonly headers: IncomingHttpHeaders
  readonly path: string
}
interface Reply {
  readonly status?: number
  readonly json?: unknown
  readonly body?: string
  readonly headers?: Record<string, string>
  readonly delayMs?: number
  readonly hang?: boolean
}

/**
 * An HTTP endpoint on 127.0.0.1:0 that records calls and answers with `reply` (JSON by default).
 * Like Hydra it has no revocation feed: a cached handler's one look for it gets 404 and is
 * recorded in `probes`, not `calls`.
 */
async function fake(reply: (c: FakeCall, n: number) => Reply | Promise<Reply>) {
  const calls: FakeCall[] = []
  const probes: string[] = []
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/admin/revocations/events') {
      probes.push(req.url)
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not Found"}')
      return
    }
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => (body += d))
    req.on('end', async () => {
      const c = { form: new URLSearchParams(body), headers: req.headers, path: req.url ?? '' }
      calls.push(c)
      const r = await reply(c, calls.length)
      if (r.hang === true) return
      if (r.delayMs !== undefined) await sleep(r.delayMs)
      res.writeHead(r.status ?? 200, { 'content-type': 'application/json', ...r.headers })
      res.end(r.body ?? JSON.stringify(r.json ?? {}))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`
  const close = (): Promise<void> =>
    new Promise((r) => {
      server.closeAllConnections()
      server.close(() => r())
    })
  t.teardown(close)
  return { url, calls, probes, close }
}

const nowSec = (): number => Math.floor(Date.now() / 1000)
const active = (extra: Record<string, unknown> = {}) => ({ active: true, sub: 'alice', exp: nowSec() + 3600, scope: 'foo', ...extra })

function newDeps(): HandlerDeps {
  const shared = new SharedResources()
  allShared.push(shared)
  return { logger: pino({ level: 'silent' }), http: agent, shared }
}

/** Validates with the handler's schema exactly as a rule load does (strict ajv, defaults) and creates. */
function build(config: Record<string, unknown>, deps: HandlerDeps = newDeps()) {
  const def = authenticators().get('oauth2_introspection')
  const validate = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true }).compile(def.schema)
  const merged = structuredClone(config)
  if (!validate(merged)) throw new Error(JSON.stringify(validate.errors))
  const run = def.create(merged, deps) as Authenticate
  const cache = (): IntrospectionCache => deps.shared.list<IntrospectionCache>('authn/oauth2_introspection ')[0]!
  return { run, deps, cache }
}

function req(headers: IncomingHttpHeaders = {}, url = 'http://gw.test/api'): PipelineRequest {
  return { method: 'GET', url: new URL(url), headers, remoteAddress: '127.0.0.1', requestId: 'r-1' }
}
const bearer = (tok: string): PipelineRequest => req({ authorization: `Bearer ${tok}` })

interface Outcome {
  /** 'ok' (authenticated), 'skip' (not responsible) or the error's status. */
  readonly result: 'ok' | 'skip' | number
  readonly session: AuthenticationSession
  readonly err?: GatehouseError
}

async function run(fn: Authenticate, r: PipelineRequest): Promise<Outcome> {
  const session = newSession(r, [])
  try {
    return { result: (await fn(r, session)) ? 'ok' : 'skip', session }
  } catch (err) {
    if (!(err instanceof GatehouseError)) throw err
    return { result: err.status, session, err }
  }
}

// ---------------------------------------------------------------------------------------------

t.test('active token from the real token server → authenticated, Subject = sub, Extra in Oathkeeper’s shape', async (t) => {
  const { run: authn } = build({ introspection_url: INTROSPECT })
  const plain = await run(authn, bearer(await token('svc', 'foo api')))
  t.equal(plain.result, 'ok')
  t.equal(plain.session.Subject, 'svc')
  t.same(plain.session.Extra, { username: '', client_id: 'svc', scope: 'foo api' }, 'no aud key when the token has none')

  const withAud = await run(authn, bearer(await token('svc', 'foo', 'https://api.test')))
  t.same(withAud.session.Extra, { username: '', client_id: 'svc', scope: 'foo', aud: ['https://api.test'] })
})

t.test('Extra = ext + username/client_id/scope (+aud as a list); a session cannot change the cached answer', async (t) => {
  const ep = await fake(() => ({ json: active({ username: 'al', client_id: 'c1', aud: 'single', ext: { tenant: 'acme', roles: ['a'] } }) }))
  const { run: authn } = build({ introspection_url: ep.url, cache: { enabled: true, ttl: '1m' } })
  const first = await run(authn, bearer('t'))
  t.same(first.session.Extra, { tenant: 'acme', roles: ['a'], username: 'al', client_id: 'c1', scope: 'foo', aud: ['single'] })
  ;(first.session.Extra.roles as string[]).push('admin')
  first.session.Extra.tenant = 'evil'
  const second = await run(authn, bearer('t'))
  t.same(second.session.Extra.roles, ['a'], 'nested values are copies')
  t.equal(second.session.Extra.tenant, 'acme')
  t.equal(ep.calls.length, 1)
})

t.test('inactive, tampered, garbage and revoked tokens → 401 (cache disabled)', async (t) => {
  const { run: authn } = build({ introspection_url: INTROSPECT })
  const good = await token('svc', 'foo')
  const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
  for (const [name, tok] of [
    ['tampered signature', flip(good, good.length - 3)],
    ['truncated', good.slice(0, -1)],
    ['garbage', 'garbage'],
    ['foreign prefix', good.replace('ory_at_', 'ory_rt_')],
  ] as const) {
    const o = await run(authn, bearer(tok))
    t.equal(o.result, 401, name)
    t.equal(o.err?.code, 'GATEHOUSE_ERR_UNAUTHORIZED', name)
    t.equal(o.err?.reason, 'Access token is not active', name)
  }
  t.equal((await run(authn, bearer(good))).result, 'ok')
  const revoked = await call('POST', `${ts.publicUrl}/oauth2/revoke`, { form: { token: good }, headers: basic('svc', 'secret-svc') })
  t.equal(revoked.status, 200)
  t.equal((await run(authn, bearer(good))).result, 401, 'rejected at once without a cache')
})

t.test('no token, another scheme, or a token without the prefix → not responsible (no call)', async (t) => {
  const ep = await fake(() => ({ json: active() }))
  const { run: authn } = build({ introspection_url: ep.url, prefix: 'ory_at_' })
  t.equal(authn(req(), newSession(req(), [])), false, 'answered synchronously')
  t.equal((await run(authn, req({ authorization: 'Basic dTpw' }))).result, 'skip')
  t.equal((await run(authn, bearer('other_token'))).result, 'skip')
  t.equal(ep.calls.length, 0)
  t.equal((await run(authn, bearer('ory_at_x'))).result, 'ok')
  t.equal(ep.calls.length, 1)
  t.equal(ep.calls[0]!.form.get('token'), 'ory_at_x', 'the whole token, prefix included, is introspected')
})

t.test('required_scope per strategy, against real tokens', async (t) => {
  const cases: Array<[strategy: string, granted: string, required: string[], expected: 'ok' | number]> = [
    ['hierarchic', 'foo', ['foo.bar'], 'ok'],
    ['hierarchic', 'foo', ['foo'], 'ok'],
    ['hierarchic', 'foo.bar', ['foo'], 403],
    ['hierarchic', 'foo', ['foobar'], 403],
    ['wildcard', 'foo.*', ['foo.bar'], 'ok'],
    ['wildcard', 'foo.*', ['foo.bar', 'foo.baz'], 'ok'],
    ['wildcard', 'foo.*', ['foo'], 403],
    ['wildcard', '*', ['anything'], 'ok'],
    ['wildcard', '*', [''], 403],
    ['exact', 'foo', ['foo'], 'ok'],
    ['exact', 'foo', ['foo.bar'], 403],
    ['exact', 'foo api', ['api', 'foo'], 'ok'],
    ['exact', 'foo', ['foo', 'api'], 403],
  ]
  const tokens = new Map<string, string>()
  for (const [strategy, granted, required, expected] of cases) {
    if (!tokens.has(granted)) tokens.set(granted, await token('svc', granted))
    const { run: authn } = build({ introspection_url: INTROSPECT, scope_strategy: strategy, required_scope: required })
    const o = await run(authn, bearer(tokens.get(granted)!))
    t.equal(o.result, expected, `${strategy}: granted "${granted}", required ${JSON.stringify(required)}`)
    if (expected === 403) t.match(o.err?.reason, /^Scope .* was not granted$/)
  }
})

t.test('scope_strategy none (default): required_scope is sent as `scope` and the endpoint decides (→ 401)', async (t) => {
  const ep = await fake((c) => ({ json: c.form.get('scope') === 'a b' ? active() : { active: false } }))
  const o = await run(build({ introspection_url: ep.url, required_scope: ['a', 'b'] }).run, bearer('t'))
  t.equal(o.result, 'ok')
  t.equal(ep.calls[0]!.form.get('scope'), 'a b')
  t.equal(ep.calls[0]!.headers['content-type'], 'application/x-www-form-urlencoded')
  const none = await run(build({ introspection_url: ep.url }).run, bearer('t'))
  t.equal(none.result, 401)
  t.equal(ep.calls[1]!.form.get('scope'), '', 'Oathkeeper sends an empty scope with strategy none')
  await run(build({ introspection_url: ep.url, scope_strategy: 'exact', required_scope: ['foo'] }).run, bearer('t'))
  t.equal(ep.calls[2]!.form.has('scope'), false, 'no scope parameter with a strategy')

  const real = await token('svc', 'foo')
  t.equal((await run(build({ introspection_url: INTROSPECT, required_scope: ['foo'] }).run, bearer(real))).result, 'ok', 'token server: scope granted')
  t.equal((await run(build({ introspection_url: INTROSPECT, required_scope: ['foo.bar'] }).run, bearer(real))).result, 401, 'token server (wildcard strategy): not granted → inactive')
})

t.test('target_audience and trusted_issuers → 403', async (t) => {
  const withAud = await token('svc', 'foo', 'https://api.test')
  const cases: Array<[name: string, config: Record<string, unknown>, expected: 'ok' | number, reason?: RegExp]> = [
    ['audience present', { target_audience: ['https://api.test'] }, 'ok'],
    ['audience missing', { target_audience: ['https://api.test', 'https://other.test'] }, 403, /target audience https:\/\/other\.test/],
    ['issuer trusted', { trusted_issuers: ['https://elsewhere/', ISSUER] }, 'ok'],
    ['issuer untrusted', { trusted_issuers: ['https://elsewhere/'] }, 403, /trusted issuer/],
    ['no issuers listed = any issuer', { trusted_issuers: [] }, 'ok'],
  ]
  for (const [name, config, expected, reason] of cases) {
    const o = await run(build({ introspection_url: INTROSPECT, ...config }).run, bearer(withAud))
    t.equal(o.result, expected, name)
    if (reason !== undefined) t.match(o.err?.reason, reason, name)
  }
})

t.test('answers the token server cannot give: token_use, exp, bad shapes, status codes', async (t) => {
  const cases: Array<[name: string, reply: Reply, expected: 'ok' | number, code?: string]> = [
    ['token_use access_token', { json: active({ token_use: 'access_token' }) }, 'ok'],
    ['token_use refresh_token → 403', { json: active({ token_use: 'refresh_token' }) }, 403, 'GATEHOUSE_ERR_FORBIDDEN'],
    ['token_use checked before active (Oathkeeper’s order)', { json: { active: false, token_use: 'id_token' } }, 403],
    ['exp in the past → 401', { json: active({ exp: nowSec() - 5 }) }, 401, 'GATEHOUSE_ERR_UNAUTHORIZED'],
    ['no exp is fine', { json: { active: true, sub: 'x' } }, 'ok'],
    ['invalid JSON → 503', { body: '{"active": tr' }, 503, 'GATEHOUSE_ERR_UNAVAILABLE'],
    ['not an object → 503', { json: [true] }, 503],
    ['active as a string → 503', { json: { active: 'true' } }, 503],
    ['aud of numbers → 503', { json: active({ aud: [1] }) }, 503],
    ['404 → 503', { status: 404, json: { error: 'not_found' } }, 503],
    ['401 → 503', { status: 401, json: {} }, 503],
    ['429 passed on with Retry-After', { status: 429, json: {}, headers: { 'retry-after': '7' } }, 429, 'GATEHOUSE_ERR_TOO_MANY_REQUESTS'],
  ]
  for (const [name, reply, expected, code] of cases) {
    const ep = await fake(() => reply)
    const o = await run(build({ introspection_url: ep.url }).run, bearer('t'))
    t.equal(o.result, expected, name)
    if (code !== undefined) t.equal(o.err?.code, code, name)
    if (expected === 429) t.same(o.err?.headers, { 'Retry-After': '7' })
    t.equal(ep.calls.length, 1, `${name}: not retried`)
    await ep.close()
  }
})

t.test('token_from: query parameter, cookie, header', async (t) => {
  const tok = await token('svc', 'foo')
  const cases: Array<[from: Record<string, string>, r: PipelineRequest]> = [
    [{ query_parameter: 'access_token' }, req({}, `http://gw.test/api?access_token=${encodeURIComponent(tok)}`)],
    [{ cookie: 'tok' }, req({ cookie: `a=1; tok=${tok}` })],
    [{ header: 'X-Token' }, req({ 'x-token': tok })],
  ]
  for (const [from, r] of cases) {
    const { run: authn } = build({ introspection_url: INTROSPECT, token_from: from })
    t.equal((await run(authn, r)).result, 'ok', JSON.stringify(from))
    t.equal((await run(authn, bearer(tok))).result, 'skip', `${JSON.stringify(from)}: Authorization is not read`)
  }
})

t.test('preserve_host and introspection_request_headers', async (t) => {
  const ep = await fake(() => ({ json: active() }))
  const { run: authn } = build({
    introspection_url: ep.url,
    preserve_host: true,
    introspection_request_headers: { 'X-Test': 'test123', 'X-Forwarded-Host': 'configured', 'Content-Type': 'text/plain', Authorization: 'Basic eDp5' },
  })
  await run(authn, req({ authorization: 'Bearer t', host: 'ignored' }, 'http://tenant.gw.test/api'))
  const h = ep.calls[0]!.headers
  t.equal(h['x-test'], 'test123')
  t.equal(h['x-forwarded-host'], 'tenant.gw.test', 'preserve_host wins over a configured header')
  t.equal(h['content-type'], 'application/x-www-form-urlencoded', 'Content-Type is always the form type')
  t.equal(h.authorization, 'Basic eDp5', 'e.g. client authentication for the endpoint')
})

/**
 * Long enough (seconds) that a busy machine makes its attempts well within it; the three cases of
 * the next test wait it out side by side, so it costs its length once.
 */
const GIVE_UP_MS = 2000

t.test('endpoint down or failing → 503, retries bounded by give_up_after', async (t) => {
  const closed = await fake(() => ({ json: {} }))
  await closed.close()
  const hanging = await fake(() => ({ hang: true }))
  const broken = await fake(() => ({ status: 500, json: {} }))
  const timedRun = async (config: Record<string, unknown>) => {
    const started = Date.now()
    const o = await run(build(config).run, bearer('t'))
    return { ...o, ms: Date.now() - started }
  }
  const giveUp = `${GIVE_UP_MS}ms`
  const [down, hung, o] = await Promise.all([
    timedRun({ introspection_url: closed.url, retry: { give_up_after: giveUp, max_delay: '50ms' } }),
    timedRun({ introspection_url: hanging.url, retry: { give_up_after: giveUp } }),
    timedRun({ introspection_url: broken.url, retry: { give_up_after: giveUp, max_delay: '200ms' } }),
  ])
  // Lower bounds: tried until the budget was spent (the last wait, at most max_delay, is skipped
  // when it would end past the deadline). Upper bounds: the budget bounds the whole call, not
  // each attempt (a fresh budget per attempt would end at 2× or later).
  t.equal(down.result, 503)
  t.equal(down.err?.code, 'GATEHOUSE_ERR_UNAVAILABLE')
  t.match(down.err?.reason, /could not be reached/)
  t.ok(down.ms >= GIVE_UP_MS - 100 && down.ms < 2 * GIVE_UP_MS, `refused connections retried until given up (${down.ms}ms)`)
  t.equal(hung.result, 503)
  t.ok(hung.ms >= GIVE_UP_MS - 10 && hung.ms < 2 * GIVE_UP_MS, `a hung endpoint is abandoned after give_up_after (${hung.ms}ms)`)
  t.equal(o.result, 503)
  // Waits double from 25 ms up to max_delay (each jittered to half–all of it): about 15 attempts in the budget.
  t.ok(broken.calls.length >= 3 && broken.calls.length <= 30, `bounded number of attempts (${broken.calls.length})`)
  t.ok(o.ms < 2 * GIVE_UP_MS, `bounded in time (${o.ms}ms)`)

  const flaky = await fake((_c, n) => (n <= 2 ? { status: 502, json: {} } : { json: active() }))
  t.equal((await run(build({ introspection_url: flaky.url, retry: { give_up_after: giveUp } }).run, bearer('t'))).result, 'ok', '5xx retried, then success')
  t.equal(flaky.calls.length, 3)
})

t.test('pre_authorization: one client-credentials token for many calls, refreshed before expiry and on 401', async (t) => {
  let issued = 0
  // Replaced after half its lifetime (see EARLY_REFRESH_MS): long enough that a busy machine makes
  // the calls below with the first token before that.
  let lifetime = 6
  let issuedAt = 0
  const tokenEp = await fake((c) => {
    t.equal(c.headers.authorization, `Basic ${Buffer.from('intro:s%3Acret').toString('base64')}`, 'client_secret_basic, form-encoded')
    t.equal(c.form.get('grant_type'), 'client_credentials')
    t.equal(c.form.get('scope'), 'introspect admin')
    t.equal(c.form.get('audience'), 'https://hydra')
    issued++
    issuedAt = Date.now()
    return { json: { access_token: `pre-${issued}`, expires_in: lifetime, token_type: 'bearer' } }
  })
  let refuse = ''
  const ep = await fake((c) => {
    if (c.headers.authorization === `Bearer ${refuse}`) return { status: 401, json: {} }
    return { json: c.headers.authorization?.startsWith('Bearer pre-') ? active() : { active: false } }
  })
  const config = {
    introspection_url: ep.url,
    pre_authorization: { enabled: true, client_id: 'intro', client_secret: 's:cret', token_url: tokenEp.url, scope: ['introspect', 'admin'], audience: 'https://hydra' },
  }
  const { run: authn, deps } = build(config)
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => run(authn, bearer(`t${i}`))))
  t.same(new Set(results.map((r) => r.result)), new Set(['ok']))
  t.equal(issued, 1, 'one token for 20 concurrent calls')
  t.equal((await run(authn, bearer('x'))).result, 'ok')
  t.equal(issued, 1)
  t.equal(ep.calls.at(-1)!.headers.authorization, 'Bearer pre-1')

  await until(() => Date.now() > issuedAt + (lifetime * 1000) / 2, 'half the token lifetime to pass')
  await run(authn, bearer('y'))
  t.equal(issued, 2, 'refetched shortly before expiry')
  t.equal(ep.calls.at(-1)!.headers.authorization, 'Bearer pre-2')

  lifetime = 3600
  refuse = 'pre-2'
  t.equal((await run(authn, bearer('z'))).result, 'ok', 'a refused token is replaced and the call retried once')
  t.equal(issued, 3)

  const again = build(config, deps)
  await run(again.run, bearer('w'))
  t.equal(issued, 3, 'rules with the same credentials share the token')
  t.equal(deps.shared.list<ClientCredentialsToken>('authn/oauth2_introspection/pre_authorization')[0]!.fetches, 3)

  await tokenEp.close()
  const failing = build({ ...config, pre_authorization: { ...config.pre_authorization, client_id: 'other' } })
  const o = await run(failing.run, bearer('t'))
  t.equal(o.result, 503, 'no pre-authorization token → fail closed')
  t.match(o.err?.reason, /pre_authorization/)
})

t.test('cache: TTL never beyond exp (4s token, ttl 1h → rejected after exp)', async (t) => {
  await client('short', 'foo', { lifespan: '4s' })
  const tok = await token('short', 'foo')
  // Without the token server's revocation feed (found by default): the ttl and exp alone bound the entry.
  const { run: authn, cache } = build({ introspection_url: INTROSPECT, cache: { enabled: true, ttl: '1h', revocation_events_url: '' } })
  t.equal((await run(authn, bearer(tok))).result, 'ok')
  const key = IntrospectionCache.key(tok)
  const exp = cache().lru.get(key)!.answer.exp
  // lru-cache's clock is refreshed by a timer that lags on a busy machine, so its remaining ttl
  // can read a little long; what matters is that it is bounded by exp (4 s), not by the 1 h ttl.
  t.ok(cache().lru.getRemainingTTL(key) <= exp * 1000 - Date.now() + 1000, 'entry lives until exp at most')
  t.equal(authn(bearer(tok), newSession(bearer(tok), [])), true, 'a hit answers synchronously')
  await sleep(exp * 1000 - Date.now() + 50)
  const o = await run(authn, bearer(tok))
  t.equal(o.result, 401, 'expired token rejected although ttl is 1h')
  t.equal(cache().stats.misses, 2, 'the entry was gone: introspected again')
})

t.test('cache: a revoked token is accepted while cached, rejected after ttl (the documented bound)', async (t) => {
  const tok = await token('svc', 'foo')
  // Without the revocation feed (found by default): the documented bound is the ttl.
  // A ttl long enough that a busy machine revokes and asks again well within it.
  const ttlMs = 3000
  const { run: authn, cache } = build({ introspection_url: INTROSPECT, cache: { enabled: true, ttl: `${ttlMs}ms`, revocation_events_url: '' } })
  t.equal((await run(authn, bearer(tok))).result, 'ok')
  const cachedBy = Date.now()
  await call('POST', `${ts.publicUrl}/oauth2/revoke`, { form: { token: tok }, headers: basic('svc', 'secret-svc') })
  t.equal((await run(authn, bearer(tok))).result, 'ok', 'still cached')
  t.equal(cache().stats.hits, 1)
  await until(() => Date.now() > cachedBy + ttlMs, 'the ttl to pass')
  t.equal((await run(authn, bearer(tok))).result, 401, 'rejected once the entry expired')
})

t.test('cache: checks run on cached answers; each rule applies its own ttl', async (t) => {
  const ep = await fake(() => ({ json: active({ scope: 'foo' }) }))
  const deps = newDeps()
  const open = build({ introspection_url: ep.url, scope_strategy: 'exact', cache: { enabled: true, ttl: '1h' } }, deps)
  const strict = build({ introspection_url: ep.url, scope_strategy: 'exact', required_scope: ['admin'], cache: { enabled: true, ttl: '1h' } }, deps)
  const brief = build({ introspection_url: ep.url, scope_strategy: 'exact', cache: { enabled: true, ttl: '100ms' } }, deps)
  t.equal((await run(open.run, bearer('t'))).result, 'ok')
  t.equal((await run(strict.run, bearer('t'))).result, 403, 'a cached token still needs the scope')
  t.equal(ep.calls.length, 1, 'one cache for rules with the same endpoint and settings')
  await sleep(150)
  t.equal((await run(open.run, bearer('t'))).result, 'ok')
  t.equal(ep.calls.length, 1, 'the 1h rule still uses the entry')
  t.equal((await run(brief.run, bearer('t'))).result, 'ok')
  t.equal(ep.calls.length, 2, 'the 100ms rule does not accept an answer older than its ttl')
})

t.test('cache: 100 concurrent requests with one new token → exactly 1 introspection call', async (t) => {
  const ep = await fake(() => ({ json: active(), delayMs: 50 }))
  const { run: authn, cache } = build({ introspection_url: ep.url, cache: { enabled: true, ttl: '1m' } })
  const results = await Promise.all(Array.from({ length: 100 }, () => run(authn, bearer('new-token'))))
  t.equal(results.filter((r) => r.result === 'ok').length, 100)
  t.equal(ep.calls.length, 1)
  t.match(cache().stats, { misses: 1, coalesced: 99, hits: 0 })

  // Failures are shared too, and not remembered.
  const down = await fake(() => ({ status: 400, json: {}, delayMs: 30 }))
  const failing = build({ introspection_url: down.url, cache: { enabled: true } })
  const failed = await Promise.all(Array.from({ length: 10 }, () => run(failing.run, bearer('x'))))
  t.same(new Set(failed.map((r) => r.result)), new Set([503]))
  t.equal(down.calls.length, 1)
  await run(failing.run, bearer('x'))
  t.equal(down.calls.length, 2, 'an error is not cached')
})

t.test('cache: negative cache for inactive tokens (min(ttl, 5s))', async (t) => {
  const ep = await fake(() => ({ json: { active: false } }))
  // Under the 5 s bound, and long enough that a busy machine asks ten times well within it.
  const ttlMs = 2000
  const { run: authn, cache } = build({ introspection_url: ep.url, cache: { enabled: true, ttl: `${ttlMs}ms` } })
  for (let i = 0; i < 10; i++) t.equal((await run(authn, bearer('garbage'))).result, 401)
  const cachedBy = Date.now()
  t.equal(ep.calls.length, 1, 'one call within the negative ttl')
  t.equal(cache().stats.hits, 9)
  await until(() => Date.now() > cachedBy + ttlMs, 'the ttl to pass')
  t.equal((await run(authn, bearer('garbage'))).result, 401)
  t.equal(ep.calls.length, 2, 'asked again after it')

  const off = build({ introspection_url: ep.url })
  await run(off.run, bearer('garbage'))
  await run(off.run, bearer('garbage'))
  t.equal(ep.calls.length, 4, 'cache disabled (Oathkeeper’s default): every request is introspected')
})

t.test('cache: keyed by a SHA-256 of the token, never the token; bounded by max_cost', async (t) => {
  const ep = await fake(() => ({ json: active() }))
  const { run: authn, cache } = build({ introspection_url: ep.url, cache: { enabled: true, ttl: '1m', max_cost: 2 } })
  const secret = 'ory_at_supersecret.signature'
  await run(authn, bearer(secret))
  const keys = [...cache().lru.keys()]
  t.same(keys, [createHash('sha256').update(secret).digest('base64url')])
  t.notOk(keys.some((k) => k.includes('supersecret')), 'the raw token is not a key')

  await run(authn, bearer('b'))
  await run(authn, bearer('c'))
  t.equal(cache().lru.size, 2)
  t.equal(cache().stats.evictions, 1)
  await run(authn, bearer(secret))
  t.equal(ep.calls.length, 4, 'the least recently used token was evicted and is introspected again')
})

t.test('config problems are reported at load, naming the option', async (t) => {
  const cases: Array<[config: Record<string, unknown>, message: RegExp]> = [
    [{ introspection_url: 'not a url' }, /^introspection_url: "not a url" is not a valid URL$/],
    [{ introspection_url: 'ftp://x/' }, /^introspection_url: must be an http or https URL/],
    [{ introspection_url: INTROSPECT, retry: { give_up_after: '5' } }, /^retry\.give_up_after: invalid duration "5": missing unit/],
    [{ introspection_url: INTROSPECT, retry: { give_up_after: '0' } }, /^retry\.give_up_after: must be greater than 0$/],
    [{ introspection_url: INTROSPECT, cache: { ttl: '1 hour' } }, /^cache\.ttl: invalid duration/],
    [{ introspection_url: INTROSPECT, introspection_request_headers: { 'Bad Name': 'x' } }, /"Bad Name" is not a valid header name/],
    [{ introspection_url: INTROSPECT, introspection_request_headers: { 'X-A': 'a\r\nb' } }, /control character/],
    [{ introspection_url: INTROSPECT, introspection_request_headers: { 'Transfer-Encoding': 'chunked' } }, /set by the HTTP client/],
    [{ introspection_url: INTROSPECT, pre_authorization: { enabled: true, client_id: 'a', client_secret: 'b', token_url: 'nope' } }, /^pre_authorization\.token_url: /],
  ]
  for (const [config, message] of cases) {
    const err = t.throws(() => build(config)) as Error
    t.type(err, ConfigError)
    t.match(err.message, message)
  }
  t.throws(() => build({}), /introspection_url/, 'introspection_url is required')
  t.throws(() => build({ introspection_url: INTROSPECT, pre_authorization: { enabled: true, client_id: 'a' } }), /client_secret/)
  t.throws(() => build({ introspection_url: INTROSPECT, scope_strategy: 'regexp' }))
  t.throws(() => build({ introspection_url: INTROSPECT, cache: { max_cost: 0 } }))
  t.throws(() => build({ introspection_url: INTROSPECT, typo: true }))
  t.doesNotThrow(() => build({ introspection_url: INTROSPECT, pre_authorization: { enabled: false } }))
})

t.test('end to end through the gateway: 200 with headers from the session, 401, 403, 503', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const rule = (id: string, path: string, config: Record<string, unknown>): string => `
- id: ${id}
  match: { url: 'http://gw.test/${path}', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: oauth2_introspection, config: ${JSON.stringify(config)} }]
  authorizer: { handler: allow }
  mutators: [{ handler: header, config: { headers: { X-User: '{{ print .Subject }}', X-Client: '{{ .Extra.client_id }}' } } }]
`
  const closed = await fake(() => ({ json: {} }))
  await closed.close()
  const gw = await startGateway(
    {
      'rules.yml':
        rule('api', 'api', { scope_strategy: 'hierarchic', required_scope: ['foo.read'] }) +
        rule('down', 'down', { introspection_url: closed.url, retry: { give_up_after: '200ms' } }),
    },
    {
      authenticators: {
        ...ALL_HANDLERS.authenticators,
        oauth2_introspection: { enabled: true, config: { introspection_url: INTROSPECT, cache: { enabled: true, ttl: '30s' } } },
      },
    },
  )
  t.teardown(() => gw.close())
  const get = async (path: string, tok?: string) => {
    const res = await request(`${gw.proxy}${path}`, { headers: { host: 'gw.test', ...(tok === undefined ? {} : { authorization: `Bearer ${tok}` }) } })
    const body = await res.body.text()
    return { status: res.statusCode, body }
  }
  const good = await token('svc', 'foo')
  const ok = await get('/api', good)
  t.equal(ok.status, 200)
  t.match(JSON.parse(ok.body).headers, { 'x-user': 'svc', 'x-client': 'svc' })
  t.equal((await get('/api')).status, 401, 'no token: no authenticator responsible')
  t.equal((await get('/api', `${good}x`)).status, 401, 'tampered')
  t.equal((await get('/api', await token('svc', 'api'))).status, 403, 'scope missing')
  t.equal((await get('/down', good)).status, 503, 'endpoint down: fail closed')
  t.equal(up.seen.length, 1, 'only the allowed request reached the upstream')
})
