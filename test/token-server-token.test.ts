import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import t from 'tap'
import { basic, call, forEachStore, type RunningTokenServer } from './helpers/token-server.js'

async function client(s: RunningTokenServer, body: Record<string, unknown>): Promise<void> {
  const r = await call('POST', `${s.adminUrl}/admin/clients`, { json: { grant_types: ['client_credentials'], ...body } })
  if (r.status !== 201) throw new Error(`client not created: ${JSON.stringify(r.body)}`)
}

const token = (s: RunningTokenServer, form: Record<string, string | string[]>, headers: Record<string, string> = {}) =>
  call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials', ...form }, headers })

forEachStore(t, 'client_credentials with client_secret_basic: RFC 6749 §5.1 response, no-store', async (t, s) => {
  await client(s, { client_id: 'svc', client_secret: 'secret-1', scope: 'api api.read', audience: ['https://api.test'] })
  const r = await token(s, { scope: 'api.read', audience: 'https://api.test' }, basic('svc', 'secret-1'))
  t.equal(r.status, 200)
  t.equal(r.headers['cache-control'], 'no-store')
  t.equal(r.headers.pragma, 'no-cache')
  t.match(r.body.access_token, /^ory_at_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/)
  t.equal(r.body.token_type, 'bearer')
  t.equal(r.body.expires_in, 3600)
  t.equal(r.body.scope, 'api.read')
  const i = await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: r.body.access_token } })
  t.same(i.body.aud, ['https://api.test'])
  t.equal(i.body.sub, 'svc')
})

forEachStore(t, 'client_secret_basic credentials are form-URL-decoded (RFC 6749 §2.3.1)', async (t, s) => {
  await client(s, { client_id: 'svc:1', client_secret: 'p@ss:w rd+%é' })
  const r = await token(s, {}, basic('svc:1', 'p@ss:w rd+%é'))
  t.equal(r.status, 200, JSON.stringify(r.body))
  // Without the encoding step the colon in the id would split id and secret in the wrong place.
  const raw = { authorization: `Basic ${Buffer.from('svc:1:p@ss:w rd+%é').toString('base64')}` }
  t.equal((await token(s, {}, raw)).status, 401)
})

forEachStore(t, 'client_secret_post works for clients registered with it, and only for them', async (t, s) => {
  await client(s, { client_id: 'poster', client_secret: 'secret-p', token_endpoint_auth_method: 'client_secret_post' })
  await client(s, { client_id: 'basic', client_secret: 'secret-b' })
  t.equal((await token(s, { client_id: 'poster', client_secret: 'secret-p' })).status, 200)
  const wrongMethod = await token(s, {}, basic('poster', 'secret-p'))
  t.equal(wrongMethod.status, 401)
  t.equal(wrongMethod.body.error, 'invalid_client')
  t.match(wrongMethod.body.error_description, /supports client authentication method 'client_secret_post', but method 'client_secret_basic' was requested/)
  const wrongMethod2 = await token(s, { client_id: 'basic', client_secret: 'secret-b' })
  t.equal(wrongMethod2.status, 401)
  const both = await token(s, { client_secret: 'secret-b' }, basic('basic', 'secret-b'))
  t.equal(both.status, 400)
  t.equal(both.body.error, 'invalid_request')
})

forEachStore(t, 'client authentication failures are 401 invalid_client, alike for unknown clients', async (t, s) => {
  await client(s, { client_id: 'svc', client_secret: 'secret-1' })
  const wrong = await token(s, {}, basic('svc', 'wrong-secret'))
  const unknown = await token(s, {}, basic('ghost', 'secret-1'))
  const none = await token(s, {})
  for (const r of [wrong, unknown, none]) {
    t.equal(r.status, 401)
    t.equal(r.body.error, 'invalid_client')
    t.equal(r.headers['cache-control'], 'no-store')
  }
  t.equal(wrong.body.error_description, unknown.body.error_description, 'same answer whether or not the client exists')
  t.equal(wrong.headers['www-authenticate'], 'Basic realm="oauth2"', 'a Basic attempt is told the scheme')
  t.notOk(JSON.stringify(wrong.body).includes('at '), 'no stack trace')
})

forEachStore(t, 'request errors: grant_type missing/unsupported/not allowed, bad content type, GET', async (t, s) => {
  await client(s, { client_id: 'svc', client_secret: 'secret-1' })
  await client(s, { client_id: 'web', client_secret: 'secret-w', grant_types: ['authorization_code'] })
  const missing = await call('POST', `${s.publicUrl}/oauth2/token`, { form: {}, headers: basic('svc', 'secret-1') })
  t.same([missing.status, missing.body.error], [400, 'invalid_request'])
  const unsupported = await token(s, { grant_type: 'password' }, basic('svc', 'secret-1'))
  t.same([unsupported.status, unsupported.body.error], [400, 'unsupported_grant_type'])
  const notAllowed = await token(s, {}, basic('web', 'secret-w'))
  t.same([notAllowed.status, notAllowed.body.error], [400, 'unauthorized_client'])
  const json = await call('POST', `${s.publicUrl}/oauth2/token`, { json: { grant_type: 'client_credentials' }, headers: basic('svc', 'secret-1') })
  t.same([json.status, json.body.error], [400, 'invalid_request'])
  const twice = await call('POST', `${s.publicUrl}/oauth2/token`, { body: 'grant_type=client_credentials&grant_type=client_credentials', headers: { ...basic('svc', 'secret-1'), 'content-type': 'application/x-www-form-urlencoded' } })
  t.same([twice.status, twice.body.error], [400, 'invalid_request'])
  const get = await call('GET', `${s.publicUrl}/oauth2/token`)
  t.equal(get.status, 405)
  t.equal(get.headers.allow, 'POST')
})

forEachStore(t, 'scopes: wildcard strategy (default) grants foo.bar from foo.*; unknown scope → invalid_scope', async (t, s) => {
  await client(s, { client_id: 'svc', client_secret: 'secret-1', scope: 'foo.* api' })
  const ok = await token(s, { scope: 'foo.bar foo.bar.baz api' }, basic('svc', 'secret-1'))
  t.equal(ok.status, 200)
  t.equal(ok.body.scope, 'foo.bar foo.bar.baz api')
  const bad = await token(s, { scope: 'api admin' }, basic('svc', 'secret-1'))
  t.equal(bad.status, 400)
  t.same(bad.body, { error: 'invalid_scope', error_description: "The OAuth 2.0 Client is not allowed to request scope 'admin'." })
  const none = await token(s, {}, basic('svc', 'secret-1'))
  t.equal(none.body.scope, '', 'nothing requested, nothing granted')
})

forEachStore(
  t,
  'scopes: the exact strategy does not expand foo.*',
  async (t, s) => {
    await client(s, { client_id: 'svc', client_secret: 'secret-1', scope: 'foo.*' })
    t.equal((await token(s, { scope: 'foo.bar' }, basic('svc', 'secret-1'))).body.error, 'invalid_scope')
    t.equal((await token(s, { scope: 'foo.*' }, basic('svc', 'secret-1'))).status, 200)
  },
  { strategies: { scope: 'exact' } },
)

forEachStore(t, 'audience: each requested audience must be the client’s; repeated or space-delimited', async (t, s) => {
  await client(s, { client_id: 'svc', client_secret: 'secret-1', audience: ['https://a.test', 'https://b.test'] })
  const ok = await token(s, { audience: ['https://a.test', 'https://b.test'] }, basic('svc', 'secret-1'))
  t.equal(ok.status, 200)
  const spaced = await token(s, { audience: 'https://a.test https://b.test' }, basic('svc', 'secret-1'))
  t.equal(spaced.status, 200)
  const bad = await token(s, { audience: 'https://c.test' }, basic('svc', 'secret-1'))
  t.equal(bad.status, 400)
  t.equal(bad.body.error, 'invalid_request')
  t.match(bad.body.error_description, /audience 'https:\/\/c\.test' has not been whitelisted/)
})

forEachStore(t, 'lifespan: the client’s client_credentials_grant_access_token_lifespan wins over ttl', async (t, s) => {
  await client(s, { client_id: 'svc', client_secret: 'secret-1', client_credentials_grant_access_token_lifespan: '5m' })
  const r = await token(s, {}, basic('svc', 'secret-1'))
  t.equal(r.body.expires_in, 300)
  const i = await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: r.body.access_token } })
  t.equal(i.body.exp - i.body.iat, 300)
})

forEachStore(t, 'public clients (auth method none) cannot use client_credentials', async (t, s) => {
  await client(s, { client_id: 'spa', token_endpoint_auth_method: 'none' })
  const r = await token(s, { client_id: 'spa' })
  t.equal(r.status, 400)
  t.equal(r.body.error, 'invalid_grant')
})

forEachStore(t, 'JWT strategy (per client): signed, verifiable with the JWKS, introspectable and revocable', async (t, s) => {
  await client(s, { client_id: 'jwt-svc', client_secret: 'secret-1', scope: 'api', audience: ['https://api.test'], access_token_strategy: 'jwt' })
  const r = await token(s, { scope: 'api', audience: 'https://api.test' }, basic('jwt-svc', 'secret-1'))
  t.equal(r.status, 200)
  const jwt: string = r.body.access_token
  t.equal(jwt.split('.').length, 3)
  const header = decodeProtectedHeader(jwt)
  t.equal(header.alg, 'RS256')
  t.type(header.kid, 'string')
  const jwks = await call('GET', `${s.publicUrl}/.well-known/jwks.json`)
  t.notOk(JSON.stringify(jwks.body).includes('"d"'), 'no private key material is published')
  const { payload } = await jwtVerify(jwt, createLocalJWKSet(jwks.body), { issuer: 'http://127.0.0.1:4444/', audience: 'https://api.test' })
  t.equal(payload.sub, 'jwt-svc')
  t.equal(payload.client_id, 'jwt-svc')
  t.same(payload.scp, ['api'])
  t.same(payload.ext, {}, 'ext as Hydra writes it (mirror_top_level_claims)')
  t.same(Object.keys(payload).sort(), ['aud', 'client_id', 'exp', 'ext', 'iat', 'iss', 'jti', 'nbf', 'scp', 'sub'], "Hydra's claim set")
  t.type(payload.jti, 'string')
  t.equal(payload.exp! - payload.iat!, 3600)
  t.equal(payload.nbf, payload.iat)
  const i = await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: jwt } })
  t.equal(i.body.active, true)
  t.equal((await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token: jwt }, headers: basic('jwt-svc', 'secret-1') })).status, 200)
  t.same((await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: jwt } })).body, { active: false }, 'a revoked JWT is inactive')
  // A JWT signed by someone else, with our kid, is not ours.
  const [h, p] = jwt.split('.')
  t.same((await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: `${h}.${p}.${'A'.repeat(342)}` } })).body, { active: false })
})

forEachStore(
  t,
  'JWT strategy (server-wide, ES256)',
  async (t, s) => {
    await client(s, { client_id: 'svc', client_secret: 'secret-1' })
    const r = await token(s, {}, basic('svc', 'secret-1'))
    t.equal(decodeProtectedHeader(r.body.access_token).alg, 'ES256')
    t.equal((await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: r.body.access_token } })).body.active, true)
  },
  { strategies: { access_token: 'jwt' }, oauth2: { jwt_algorithm: 'ES256', hashers: { pbkdf2: { iterations: 1000 } } } },
)
