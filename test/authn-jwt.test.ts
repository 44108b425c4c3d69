import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { exportJWK, exportSPKI, SignJWT } from 'jose'
import { ConfigError } from '../src/errors.js'
import { b64, build, jwks, jwksServer, key, now, run, req, sharedWith, sign } from './helpers/jwt.js'
import { basic, call, startTokenServer } from './helpers/token-server.js'
import { until } from './helpers/wait.js'

const [rsa, ec, rotated, other] = await Promise.all([key('rsa-1', 'RS256'), key('ec-1', 'ES256'), key('rsa-2', 'RS256'), key('rsa-x', 'RS256')])

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-jwt-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const keyFile = join(dir, 'jwks.json')
writeFileSync(keyFile, JSON.stringify(jwks(rsa, ec)))
// A set with the private key (e.g. the file an id_token mutator signs with): only its public part is used.
const privateFile = join(dir, 'private.json')
writeFileSync(privateFile, JSON.stringify({ keys: [{ ...(await exportJWK(rsa.privateKey)), kid: rsa.kid, key_ops: ['sign'] }] }))

const server = await jwksServer(jwks(rsa, ec))

t.test('verdicts by token (table)', async (t) => {
  // The classic confusion attack: the verifier's RSA public key (PEM, as published) used as an HMAC secret.
  const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey))
  const hs256WithPublicKey = (): Promise<string> =>
    new SignJWT({ sub: 'mallory', exp: now() + 60 }).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(pem)
  const cases: Array<{ name: string; token: () => Promise<string | undefined>; config?: Record<string, unknown>; status: number | 'not responsible'; reason?: RegExp }> = [
    { name: 'valid RS256 over http', token: () => sign(rsa), status: 200 },
    { name: 'valid ES256 (allowed)', token: () => sign(ec), config: { allowed_algorithms: ['ES256'] }, status: 200 },
    { name: 'valid RS256 from a file:// set', token: () => sign(rsa), config: { jwks_urls: [pathToFileURL(keyFile).href] }, status: 200 },
    { name: 'valid RS256, set holding the private key', token: () => sign(rsa), config: { jwks_urls: [`file://${privateFile}`] }, status: 200 },
    { name: 'no token → not responsible', token: async () => undefined, status: 'not responsible' },
    { name: 'opaque token → not responsible', token: async () => 'ory_at_abc.def', status: 'not responsible' },
    { name: 'five parts (JWE) → not responsible', token: async () => 'a.b.c.d.e', status: 'not responsible' },
    { name: 'garbage with three parts → 401', token: async () => 'x.y.z', status: 401, reason: /malformed/ },
    { name: 'expired → 401', token: () => sign(rsa, { exp: now() - 5 }), status: 401, reason: /expired/ },
    { name: 'not yet valid (nbf) → 401', token: () => sign(rsa, { nbf: now() + 60 }), status: 401, reason: /not valid yet/ },
    { name: 'issued in the future → 401', token: () => sign(rsa, { iat: now() + 60 }), status: 401, reason: /before issued/ },
    { name: 'ES256 when only RS256 is allowed → 401', token: () => sign(ec), status: 401, reason: /"ES256" which is not allowed/ },
    { name: 'alg none → 401', token: async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory' })}.`, status: 401, reason: /"none" which is not allowed/ },
    { name: 'HS256 signed with the RSA public key → 401', token: hs256WithPublicKey, status: 401, reason: /"HS256" which is not allowed/ },
    { name: 'HS256 allowed, but no oct key → 401', token: hs256WithPublicKey, config: { allowed_algorithms: ['RS256', 'HS256'] }, status: 401, reason: /could not be found/ },
    { name: 'signed by a key with a published kid but another key → 401', token: () => sign(other, {}, { kid: rsa.kid }), status: 401, reason: /signature/ },
    { name: 'tampered payload → 401', token: async () => { const [h, , s] = (await sign(rsa)).split('.'); return `${h}.${b64({ sub: 'root', exp: now() + 60 })}.${s}` }, status: 401 },
    { name: 'wrong audience → 403', token: () => sign(rsa, { aud: ['api-a'] }), config: { target_audience: ['api-a', 'api-b'] }, status: 403, reason: /target audience api-b/ },
    { name: 'all audiences present → 200', token: () => sign(rsa, { aud: ['api-a', 'api-b', 'x'] }), config: { target_audience: ['api-a', 'api-b'] }, status: 200 },
    { name: 'untrusted issuer → 403', token: () => sign(rsa, { iss: 'https://evil' }), config: { trusted_issuers: ['https://idp'] }, status: 403, reason: /trusted issuer/ },
    { name: 'trusted issuer → 200', token: () => sign(rsa, { iss: 'https://idp' }), config: { trusted_issuers: ['https://other', 'https://idp'] }, status: 200 },
    { name: 'exact: scope missing → 403', token: () => sign(rsa, { scp: ['foo'] }), config: { scope_strategy: 'exact', required_scope: ['foo.bar'] }, status: 403, reason: /missing required scope "foo.bar"/ },
    { name: 'hierarchic: foo grants foo.bar', token: () => sign(rsa, { scope: 'foo' }), config: { scope_strategy: 'hierarchic', required_scope: ['foo.bar'] }, status: 200 },
    { name: 'hierarchic: foo.bar does not grant foo → 403', token: () => sign(rsa, { scope: 'foo.bar' }), config: { scope_strategy: 'hierarchic', required_scope: ['foo'] }, status: 403 },
    { name: 'wildcard: foo.* grants foo.bar', token: () => sign(rsa, { scopes: ['foo.*'] }), config: { scope_strategy: 'wildcard', required_scope: ['foo.bar'] }, status: 200 },
    { name: 'wildcard: foo.* does not grant foo → 403', token: () => sign(rsa, { scopes: ['foo.*'] }), config: { scope_strategy: 'wildcard', required_scope: ['foo'] }, status: 403 },
    { name: 'no scope claim at all → 403', token: () => sign(rsa), config: { scope_strategy: 'exact', required_scope: ['a'] }, status: 403 },
  ]
  for (const c of cases) {
    const authn = build({ jwks_urls: [server.url], ...c.config })
    const got = await run(authn, await c.token())
    t.equal(got.status, c.status, c.name)
    if (c.reason !== undefined) t.match(got.error?.reason, c.reason, `${c.name}: reason`)
  }
})

t.test('session: Subject = sub, Extra = claims, scope normalised into scp', async (t) => {
  const authn = build({ jwks_urls: [server.url] })
  const a = await run(authn, await sign(rsa, { scope: 'read write', tenant: 'acme' }))
  t.equal(a.status, 200)
  t.equal(a.session.Subject, 'alice')
  t.same(a.session.Extra.scp, ['read', 'write'])
  t.notOk('scope' in a.session.Extra, 'the source claim is moved, as Oathkeeper does')
  t.equal(a.session.Extra.tenant, 'acme')
  const b = await run(authn, await sign(rsa, { sub: undefined }))
  t.equal(b.session.Subject, '')
  t.same(b.session.Extra.scp, [], 'no scope → scp: []')
  const q = build({ jwks_urls: [server.url], token_from: { query_parameter: 'access_token' } })
  t.equal((await run(q, undefined, req({}, `http://gw.test/api?access_token=${await sign(rsa)}`))).status, 200, 'token_from')
})

t.test('several jwks_urls: keys are merged; a token without kid finds its key by alg', async (t) => {
  const second = await jwksServer(jwks(rotated))
  const authn = build({ jwks_urls: [server.url, second.url], allowed_algorithms: ['RS256', 'ES256'] })
  t.equal((await run(authn, await sign(rotated))).status, 200, 'kid from the second set')
  t.equal((await run(authn, await sign(ec, {}, { kid: undefined }))).status, 200, 'no kid: the one ES256 key')
  t.equal((await run(authn, await sign(rotated, {}, { kid: undefined }))).status, 200, 'no kid: tries every RS256 key')
})

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

t.test('rotation: an unknown kid refetches (rate-limited) and picks up the new key', async (t) => {
  const s = await jwksServer(jwks(rsa))
  const defaults = build({ jwks_urls: [s.url] })
  t.equal((await run(defaults, await sign(rsa))).status, 200)
  t.equal(s.state.fetches, 1)
  s.state.body = jwks(rotated, rsa)
  t.equal((await run(defaults, await sign(rotated))).status, 401, 'within 10 s of the last fetch: no refetch')
  t.equal(s.state.fetches, 1)

  const fast = build({ jwks_urls: [s.url] }, sharedWith(s.url, 100))
  s.state.body = jwks(rsa)
  t.equal((await run(fast, await sign(rsa))).status, 200)
  const before = s.state.fetches
  s.state.body = jwks(rotated, rsa)
  await sleep(150)
  t.equal((await run(fast, await sign(rotated))).status, 200, 'new kid picked up')
  t.equal(s.state.fetches, before + 1)
  t.equal((await run(fast, await sign(rsa))).status, 200, 'old key still in the set')
})

t.test('unknown-kid storm: concurrent requests share one fetch, later ones cost none', async (t) => {
  const s = await jwksServer(jwks(rsa))
  // Long enough that a busy machine sends the second storm well within it.
  const intervalMs = 2000
  const authn = build({ jwks_urls: [s.url] }, sharedWith(s.url, intervalMs))
  const bogus = await Promise.all(Array.from({ length: 100 }, (_, i) => sign(other, {}, { kid: `nope-${i}` })))
  t.equal((await run(authn, await sign(rsa))).status, 200)
  await sleep(intervalMs + 50)
  const before = s.state.fetches
  const first = await Promise.all(bogus.map((tok) => run(authn, tok)))
  t.ok(first.every((r) => r.status === 401))
  t.equal(s.state.fetches, before + 1, '100 unknown kids → one fetch')
  const second = await Promise.all(bogus.map((tok) => run(authn, tok)))
  t.ok(second.every((r) => r.status === 401))
  t.equal(s.state.fetches, before + 1, 'within the interval → no fetch at all')
})

t.test('key set unavailable → 503 (fail closed)', async (t) => {
  const s = await jwksServer(jwks(rsa))
  s.state.status = 500
  const down = build({ jwks_urls: [s.url] })
  const r = await run(down, await sign(rsa))
  t.equal(r.status, 503)
  t.equal(r.error?.code, 'GATEHOUSE_ERR_UNAVAILABLE')
  t.match(r.error?.reason, /HTTP 500/)

  const refused = build({ jwks_urls: ['http://127.0.0.1:1/jwks.json'] })
  t.equal((await run(refused, await sign(rsa))).status, 503, 'connection refused')
  t.equal((await run(build({ jwks_urls: [pathToFileURL(join(dir, 'missing.json')).href] }), await sign(rsa))).status, 503, 'missing file')

  // Keys were fetched, then expired (jwks_ttl) while the server went down: not used any more.
  // (A backoff of a minute rather than the default second: what a busy machine does within it is
  // then certain to be within it.)
  const s2 = await jwksServer(jwks(rsa))
  const ttl = build({ jwks_urls: [s2.url], jwks_ttl: '100ms' }, sharedWith(s2.url, 10_000, 60_000))
  const tok = await sign(rsa)
  t.equal((await run(ttl, tok)).status, 200)
  s2.state.status = 503
  await sleep(150)
  t.equal((await run(ttl, tok)).status, 503, 'stale keys + failed refetch → 503')
  const fetches = s2.state.fetches
  await Promise.all(Array.from({ length: 20 }, () => run(ttl, tok)))
  t.equal(s2.state.fetches, fetches, 'a server that is down is not asked again within the backoff')
})

t.test('jwks_max_wait bounds how long a request waits for a slow key set', async (t) => {
  const s = await jwksServer(jwks(rsa))
  // The server holds the fetch until released: an answer while it is held did not wait for it.
  // (Released after a while regardless, so that a handler that does wait fails instead of hanging.)
  s.state.hold = true
  const fallback = setTimeout(s.release, 10_000)
  t.teardown(() => clearTimeout(fallback))
  const authn = build({ jwks_urls: [s.url], jwks_max_wait: '50ms' })
  const tok = await sign(rsa)
  t.equal((await run(authn, tok)).status, 503, 'nothing fetched within the wait')
  t.equal(s.state.held, 1, 'did not wait for the fetch: it was still held')
  s.release()
  await until(async () => (await run(authn, tok)).status === 200, 'the keys to arrive')
  t.equal(s.state.fetches, 1, 'the fetch went on in the background (no second one)')
})

t.test('config problems are reported at load, naming the option', async (t) => {
  t.throws(() => build({ jwks_urls: [server.url], required_scope: ['a'] }), ConfigError, 'required_scope with scope_strategy none')
  t.throws(() => build({ jwks_urls: ['ftp://keys/jwks.json'] }), /jwks_urls\[0\]: .*must be a file:\/\/, http:\/\/ or https:\/\/ URL/)
  t.throws(() => build({ jwks_urls: [server.url], jwks_ttl: '30' }), /jwks_ttl: invalid duration/)
  t.throws(() => build({}), /jwks_urls/, 'jwks_urls is required (schema)')
  t.throws(() => build({ jwks_urls: [server.url], allowed_algorithms: ['none'] }), /allowed/, '"none" is not an algorithm')
})

t.test('tokens of the real token server (JWT strategy) verify against its JWKS', async (t) => {
  const ts = await startTokenServer()
  t.teardown(() => ts.close())
  const created = await call('POST', `${ts.adminUrl}/admin/clients`, {
    json: { client_id: 'svc', client_secret: 'secret-1', scope: 'api.read other', audience: ['https://api.test'], access_token_strategy: 'jwt', grant_types: ['client_credentials'] },
  })
  t.equal(created.status, 201)
  const tok = await call('POST', `${ts.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials', scope: 'api.read', audience: 'https://api.test' }, headers: basic('svc', 'secret-1') })
  t.equal(tok.status, 200)
  const authn = build({
    jwks_urls: [`${ts.publicUrl}/.well-known/jwks.json`],
    target_audience: ['https://api.test'],
    scope_strategy: 'hierarchic',
    required_scope: ['api.read'],
  })
  const ok = await run(authn, tok.body.access_token)
  t.equal(ok.status, 200)
  t.equal(ok.session.Subject, 'svc')
  t.equal(ok.session.Extra.client_id, 'svc')
  t.same(ok.session.Extra.scp, ['api.read'])
  const strict = build({ jwks_urls: [`${ts.publicUrl}/.well-known/jwks.json`], scope_strategy: 'exact', required_scope: ['other'] })
  t.equal((await run(strict, tok.body.access_token)).status, 403, 'scope not granted to this token')
})
