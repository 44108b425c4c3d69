/**
 * The "Kyma" scenario end to end, with the real rule file (rules/oauth2.yml) and the quickstart's
 * handler config (config/quickstart.yml), pointed at a real token server, gateway and upstream on
 * port 0: client credentials → token → gateway → upstream with identity headers and an id_token.
 */
import { readFileSync } from 'node:fs'
import { createLocalJWKSet, jwtVerify } from 'jose'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { parse } from 'yaml'
import { deepMerge } from '../src/util/deep-merge.js'
import { ROOT } from './helpers/cli.js'
import { startGateway, startUpstream } from './helpers/servers.js'
import { basic, call, startTokenServer, type RunningTokenServer } from './helpers/token-server.js'
import { until } from './helpers/wait.js'

async function setUp(t: Test, ts: RunningTokenServer, cacheOverride: Record<string, unknown> = {}) {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const port = (u: string) => u.slice(u.lastIndexOf(':') + 1)
  const quickstart = readFileSync(`${ROOT}/config/quickstart.yml`, 'utf8')
    // Whole addresses only: an OS-picked public port may itself start with 4445.
    .replace(/127\.0\.0\.1:4444(?!\d)/g, `127.0.0.1:${port(ts.publicUrl)}`)
    .replace(/127\.0\.0\.1:4445(?!\d)/g, `127.0.0.1:${port(ts.adminUrl)}`)
  const q = parse(quickstart) as Record<string, unknown>
  const rules = readFileSync(`${ROOT}/rules/oauth2.yml`, 'utf8').replaceAll('http://127.0.0.1:4455', 'http://gw.test').replaceAll('http://127.0.0.1:4460', up.url)
  const handlers = deepMerge({ authenticators: q.authenticators, authorizers: q.authorizers, mutators: q.mutators, errors: q.errors }, { authenticators: { oauth2_introspection: { config: { cache: cacheOverride } } } })
  const gw = await startGateway({ 'oauth2.yml': rules }, handlers as Record<string, unknown>)
  t.teardown(() => gw.close())
  return { up, gw }
}

async function client(ts: RunningTokenServer, scope: string, strategy?: string): Promise<(scope: string) => Promise<string>> {
  const id = `kyma-${Math.random().toString(36).slice(2, 8)}`
  await call('POST', `${ts.adminUrl}/admin/clients`, { json: { client_id: id, client_secret: 'kyma-secret', grant_types: ['client_credentials'], scope, ...(strategy ? { access_token_strategy: strategy } : {}) } })
  return async (s) => (await call('POST', `${ts.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials', scope: s }, headers: basic(id, 'kyma-secret') })).body.access_token
}

t.test('proxy: 200 with X-User and a verifiable id_token; 401 without or with a tampered token; 403 without the scope', async (t) => {
  const ts = await startTokenServer()
  t.teardown(() => ts.close())
  const { up, gw } = await setUp(t, ts)
  const token = await client(ts, 'api.* other')
  const good = await token('api.read')
  const get = async (path: string, tok?: string) => {
    const res = await request(`${gw.proxy}${path}`, { headers: { host: 'gw.test', ...(tok === undefined ? {} : { authorization: `Bearer ${tok}` }) } })
    return { status: res.statusCode, body: await res.body.text() }
  }
  const ok = await get('/api/orders', good)
  t.equal(ok.status, 200)
  const seen = up.seen.at(-1)!
  t.match(seen.headers, { 'x-user': /^kyma-/, 'x-scope': 'api.read' })
  const idToken = String(seen.headers.authorization).replace(/^Bearer /, '')
  t.not(idToken, good, 'the client’s token is replaced by the gateway’s id_token')
  const jwks = (await call('GET', `${gw.api}/.well-known/jwks.json`)).body
  const { payload } = await jwtVerify(idToken, createLocalJWKSet(jwks), { issuer: 'http://127.0.0.1:4455/', audience: up.url })
  t.equal(payload.sub, seen.headers['x-user'])
  t.equal(payload.scope, 'api.read')
  t.ok(payload.exp! - payload.iat! === 900, 'ttl 15m')

  t.equal((await get('/api/orders')).status, 401, 'no token')
  t.equal((await get('/api/orders', good.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')))).status, 401, 'tampered')
  t.equal((await get('/api/orders', await token('other'))).status, 403, 'valid token without api.read')
  t.equal(up.seen.length, 1, 'only the allowed request reached the upstream')

  const jwtToken = await (await client(ts, 'api.*', 'jwt'))('api.read')
  const jr = await get('/jwt-api/x', jwtToken)
  t.equal(jr.status, 200, 'a JWT access token, verified against the token server’s JWKS')
  t.equal((await get('/jwt-api/x', good)).status, 401, 'an opaque token is not the jwt rule’s business')
})

t.test('decision API: the same answers, with the mutated headers on 200', async (t) => {
  const ts = await startTokenServer()
  t.teardown(() => ts.close())
  const { gw } = await setUp(t, ts)
  const token = await client(ts, 'api.* other')
  const decide = async (tok?: string) => {
    const res = await request(`${gw.api}/decisions`, {
      headers: { 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'gw.test', 'x-forwarded-uri': '/api/orders', ...(tok ? { authorization: `Bearer ${tok}` } : {}) },
    })
    await res.body.dump()
    return { status: res.statusCode, headers: res.headers }
  }
  const ok = await decide(await token('api.read'))
  t.equal(ok.status, 200)
  t.match(ok.headers, { 'x-user': /^kyma-/, 'x-scope': 'api.read', authorization: /^Bearer ey/ })
  t.equal((await decide()).status, 401)
  t.equal((await decide(await token('other'))).status, 403)
})

t.test('revocation and the cache: without events a revoked token lives until the ttl; with events it is gone at once', async (t) => {
  const ts = await startTokenServer()
  t.teardown(() => ts.close())
  // `revocation_events_url: ''` turns events off (unset, the token server's feed would be found).
  // Long enough that a busy machine revokes and sees the other gateway refuse well within it.
  const ttlMs = 4000
  const slow = await setUp(t, ts, { ttl: `${ttlMs}ms`, revocation_events_url: '' })
  const fast = await setUp(t, ts, { ttl: '1h' })
  const token = await client(ts, 'api.*')
  const tokA = await token('api.read')
  const tokB = await token('api.read')
  const get = async (gw: { proxy: string }, tok: string) => {
    const res = await request(`${gw.proxy}/api/x`, { headers: { host: 'gw.test', authorization: `Bearer ${tok}` } })
    await res.body.dump()
    return res.statusCode
  }
  t.equal(await get(slow.gw, tokA), 200)
  const cachedBy = Date.now()
  t.equal(await get(fast.gw, tokB), 200)
  for (const tok of [tokA, tokB]) {
    const id = (await call('POST', `${ts.adminUrl}/admin/oauth2/introspect`, { form: { token: tok } })).body.client_id
    await call('POST', `${ts.publicUrl}/oauth2/revoke`, { form: { token: tok }, headers: basic(id, 'kyma-secret') })
  }
  // Cached for an hour: only the revocation event can make the fast gateway refuse it.
  await until(async () => (await get(fast.gw, tokB)) === 401, 'events: rejected at once')
  t.pass('events: rejected at once')
  t.equal(await get(slow.gw, tokA), 200, 'cached, no events: still accepted within the ttl (the documented bound)')
  await until(() => Date.now() > cachedBy + ttlMs, 'the ttl to pass')
  t.equal(await get(slow.gw, tokA), 401, 'after the ttl the revoked token is rejected')
})
