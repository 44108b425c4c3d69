import { decodeProtectedHeader } from 'jose'
import t from 'tap'
import { basic, call, forEachStore, startTokenServer } from './helpers/token-server.js'

forEachStore(t, 'admin keys: generate, read, publish (public part only), delete', async (t, s) => {
  const created = await call('POST', `${s.adminUrl}/admin/keys/my-set`, { json: { alg: 'ES256', kid: 'k1', use: 'sig' } })
  t.equal(created.status, 201)
  t.equal(created.body.keys.length, 1)
  t.match(created.body.keys[0], { kid: 'k1', alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256' })
  t.type(created.body.keys[0].d, 'string', 'the admin API returns the private key, as Hydra does')
  const set = await call('GET', `${s.adminUrl}/admin/keys/my-set`)
  t.equal(set.status, 200)
  t.same(set.body.keys.map((k: { kid: string }) => k.kid), ['k1'])
  const one = await call('GET', `${s.adminUrl}/admin/keys/my-set/k1`)
  t.equal(one.body.keys[0].kid, 'k1')
  t.equal((await call('GET', `${s.adminUrl}/admin/keys/my-set/nope`)).status, 404)
  t.equal((await call('GET', `${s.adminUrl}/admin/keys/none`)).status, 404)
  const bad = await call('POST', `${s.adminUrl}/admin/keys/my-set`, { json: { alg: 'HS1' } })
  t.same([bad.status, bad.body.error], [400, 'invalid_request'])
  const put = await call('PUT', `${s.adminUrl}/admin/keys/my-set/k2`, { json: { ...created.body.keys[0], kid: undefined } })
  t.equal(put.status, 200)
  t.equal(put.body.kid, 'k2')
  t.same((await call('GET', `${s.adminUrl}/admin/keys/my-set`)).body.keys.map((k: { kid: string }) => k.kid).sort(), ['k1', 'k2'])
  t.equal((await call('DELETE', `${s.adminUrl}/admin/keys/my-set/k1`)).status, 204)
  t.equal((await call('DELETE', `${s.adminUrl}/admin/keys/my-set/k1`)).status, 404)
  const replaced = await call('PUT', `${s.adminUrl}/admin/keys/my-set`, { json: { keys: [{ ...created.body.keys[0], kid: 'k3' }] } })
  t.equal(replaced.status, 200)
  t.same((await call('GET', `${s.adminUrl}/admin/keys/my-set`)).body.keys.map((k: { kid: string }) => k.kid), ['k3'], 'PUT on a set replaces it')
  t.equal((await call('DELETE', `${s.adminUrl}/admin/keys/my-set`)).status, 204)
  t.equal((await call('GET', `${s.adminUrl}/admin/keys/my-set`)).status, 404)
})

forEachStore(
  t,
  'signing key rotation: the newest key signs; tokens signed with the older key stay valid until it is deleted',
  async (t, s) => {
    await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: 'svc', client_secret: 'secret-1', grant_types: ['client_credentials'] } })
    const token = async () => (await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('svc', 'secret-1') })).body.access_token as string
    const first = await token()
    const oldKid = decodeProtectedHeader(first).kid
    await new Promise((r) => setTimeout(r, 5))
    const rotated = await call('POST', `${s.adminUrl}/admin/keys/hydra.jwt.access-token`, { json: { alg: 'RS256', kid: 'rotated' } })
    t.equal(rotated.status, 201)
    const second = await token()
    t.equal(decodeProtectedHeader(second).kid, 'rotated', 'the newest key signs')
    const jwks = await call('GET', `${s.publicUrl}/.well-known/jwks.json`)
    const idTokenKid = (await call('GET', `${s.adminUrl}/admin/keys/hydra.openid.id-token`)).body.keys[0].kid
    t.same(jwks.body.keys.map((k: { kid: string }) => k.kid).sort(), [oldKid, 'rotated', idTokenKid].sort(), 'both access-token keys (and the id-token key) are published')
    const active = async (tok: string) => (await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: tok } })).body.active
    t.equal(await active(first), true)
    t.equal(await active(second), true)
    t.equal((await call('DELETE', `${s.adminUrl}/admin/keys/hydra.jwt.access-token/${oldKid}`)).status, 204)
    t.equal(await active(first), false, 'a token whose key is gone no longer verifies')
    t.equal(await active(second), true)
  },
  { strategies: { access_token: 'jwt' } },
)

t.test('discovery document, health and version on both ports; unknown paths and huge bodies', async (t) => {
  const s = await startTokenServer({ config: { urls: { self: { issuer: 'https://auth.example.test/', admin: 'https://admin.example.test' } } } })
  t.teardown(() => s.close())
  const d = await call('GET', `${s.publicUrl}/.well-known/openid-configuration`)
  // Every field is checked in oidc-userinfo-discovery.test.ts; here, the URLs the config makes.
  t.match(d.body, {
    issuer: 'https://auth.example.test/',
    authorization_endpoint: 'https://auth.example.test/oauth2/auth',
    token_endpoint: 'https://auth.example.test/oauth2/token',
    jwks_uri: 'https://auth.example.test/.well-known/jwks.json',
    revocation_endpoint: 'https://auth.example.test/oauth2/revoke',
    userinfo_endpoint: 'https://auth.example.test/userinfo',
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    introspection_endpoint: 'https://admin.example.test/admin/oauth2/introspect',
  })
  for (const base of [s.publicUrl, s.adminUrl]) {
    t.same((await call('GET', `${base}/health/alive`)).body, { status: 'ok' })
    t.same((await call('GET', `${base}/health/ready`)).body, { status: 'ok' })
    t.match((await call('GET', `${base}/version`)).body, { version: /^\d+\.\d+\.\d+/ })
  }
  const unknown = await call('GET', `${s.publicUrl}/admin/clients`)
  t.equal(unknown.status, 404, 'the admin API is not on the public port')
  t.type(unknown.body.error, 'string')
  const huge = await call('POST', `${s.adminUrl}/admin/clients`, { body: 'x'.repeat(2 * 1024 * 1024), headers: { 'content-type': 'application/json' } })
  t.equal(huge.status, 413)
})

t.test('a store outage is 503 temporarily_unavailable with Retry-After, and /health/ready says so; never a stack trace', async (t) => {
  const { MemoryStore } = await import('../src/token-server/store/memory.js')
  const { StoreUnavailableError } = await import('../src/token-server/store/types.js')
  const store = new MemoryStore()
  const s = await startTokenServer({ store })
  t.teardown(() => s.close())
  await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: 'svc', client_secret: 'secret-1', grant_types: ['client_credentials'] } })
  // The outage as the SQL stores report it (their own tests prove they do, against a dead server).
  const down = async () => {
    throw new StoreUnavailableError('connect ECONNREFUSED 127.0.0.1:5432')
  }
  store.getClient = down
  store.getToken = down
  store.ping = down
  const tok = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('svc', 'secret-1') })
  t.equal(tok.status, 503)
  t.equal(tok.body.error, 'temporarily_unavailable')
  t.equal(tok.headers['retry-after'], '1')
  t.notMatch(JSON.stringify(tok.body), /ECONNREFUSED|at .*\.js/, 'no internals leak')
  const i = await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: 'ory_at_x.y' } })
  t.equal(i.status, 200, 'a malformed token is rejected before the store is asked')
  const ready = await call('GET', `${s.adminUrl}/health/ready`)
  t.equal(ready.status, 503)
  t.same(ready.body, { errors: { database: 'the store is not reachable' } })
  store.getClient = async () => {
    throw new Error('a bug')
  }
  const bug = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('svc', 'secret-1') })
  t.same([bug.status, bug.body.error], [500, 'server_error'])
  t.notMatch(JSON.stringify(bug.body), /a bug/)
})
