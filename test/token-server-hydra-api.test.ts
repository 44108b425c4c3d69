/**
 * Hydra 2.x behaviours of the token server's HTTP APIs that scripts, tutorials and SDKs written
 * for Hydra rely on (multipart forms, unprefixed admin paths, lifespans, discovery, keys, pages).
 */
import t from 'tap'
import { FormData, request } from 'undici'
import { basic, call, forEachStore, startTokenServer, type RunningTokenServer } from './helpers/token-server.js'

async function client(s: RunningTokenServer, body: Record<string, unknown>): Promise<Record<string, any>> {
  const r = await call('POST', `${s.adminUrl}/admin/clients`, { json: { grant_types: ['client_credentials'], ...body } })
  if (r.status !== 201) throw new Error(`client not created: ${JSON.stringify(r.body)}`)
  return r.body
}

/** A multipart/form-data POST, as `curl -F name=value` sends it. */
async function multipart(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const form = new FormData()
  for (const [k, v] of Object.entries(fields)) form.append(k, v)
  const res = await request(url, { method: 'POST', body: form, headers })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? text : JSON.parse(text) }
}

forEachStore(t, 'multipart/form-data on /oauth2/token, /oauth2/revoke and /admin/oauth2/introspect (curl -F)', async (t, s) => {
  await client(s, { client_id: 'mp', client_secret: 'secret-mp', scope: 'read write' })
  const tok = await multipart(`${s.publicUrl}/oauth2/token`, { grant_type: 'client_credentials', scope: 'read' }, basic('mp', 'secret-mp'))
  t.equal(tok.status, 200, JSON.stringify(tok.body))
  t.equal(tok.body.scope, 'read')
  await client(s, { client_id: 'mp-post', client_secret: 'secret-mp', token_endpoint_auth_method: 'client_secret_post' })
  const post = await multipart(`${s.publicUrl}/oauth2/token`, { grant_type: 'client_credentials', client_id: 'mp-post', client_secret: 'secret-mp' })
  t.equal(post.status, 200, 'client_secret_post in a multipart body')
  const active = await multipart(`${s.adminUrl}/admin/oauth2/introspect`, { token: tok.body.access_token })
  t.equal(active.status, 200)
  t.equal(active.body.active, true)
  t.equal(active.body.scope, 'read')
  const revoked = await multipart(`${s.publicUrl}/oauth2/revoke`, { token: tok.body.access_token }, basic('mp', 'secret-mp'))
  t.equal(revoked.status, 200)
  t.equal((await multipart(`${s.adminUrl}/admin/oauth2/introspect`, { token: tok.body.access_token })).body.active, false)
  const twice = await multipart(`${s.publicUrl}/oauth2/token`, { grant_type: 'client_credentials', scope: 'read' }, basic('mp', 'secret-mp'))
  t.equal(twice.status, 200)
})

t.test('multipart: malformed bodies are 400 invalid_request, oversize ones 413; file parts are ignored', async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  await client(s, { client_id: 'mp', client_secret: 'secret-mp' })
  const raw = (contentType: string, body: string) =>
    call('POST', `${s.publicUrl}/oauth2/token`, { body, headers: { 'content-type': contentType, ...basic('mp', 'secret-mp') } })
  const noBoundary = await raw('multipart/form-data', '--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--x--\r\n')
  t.equal(noBoundary.status, 400)
  t.equal(noBoundary.body.error, 'invalid_request')
  t.match(noBoundary.body.error_description, /Unable to parse HTTP body/)
  const truncated = await raw('multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_cred')
  t.equal(truncated.status, 400)
  t.equal(truncated.body.error, 'invalid_request')
  t.match(truncated.body.error_description, /Unable to parse HTTP body/)
  const withFile = await raw(
    'multipart/form-data; boundary=x',
    '--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n' +
      '--x\r\nContent-Disposition: form-data; name="scope"; filename="s.txt"\r\nContent-Type: text/plain\r\n\r\nadmin\r\n--x--\r\n',
  )
  t.equal(withFile.status, 200, 'a file part is not a form value (Go PostForm)')
  t.equal(withFile.body.scope, '')
  const repeated = await raw(
    'multipart/form-data; boundary=x',
    '--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--x--\r\n',
  )
  t.equal(repeated.status, 400, 'the same one-value rules as for urlencoded forms')
  const big = `--x\r\nContent-Disposition: form-data; name="scope"\r\n\r\n${'a'.repeat(1024 * 1024)}\r\n--x--\r\n`
  const huge = await raw('multipart/form-data; boundary=x', big)
  t.equal(huge.status, 413)
  t.equal(huge.body.error, 'invalid_request')
  const json = await raw('application/json', '{"grant_type":"client_credentials"}')
  t.equal(json.status, 400)
  t.match(json.body.error_description, /x-www-form-urlencoded or multipart\/form-data/)
})

t.test('admin paths without /admin are served as Hydra 2.x serves them; health and version under /admin too', async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  const created = await call('POST', `${s.adminUrl}/clients`, { json: { client_id: 'legacy', client_secret: 'secret-legacy', grant_types: ['client_credentials'] } })
  t.equal(created.status, 201)
  t.equal(created.headers.location, `${s.adminUrl}/admin/clients/legacy`)
  t.equal((await call('GET', `${s.adminUrl}/clients/legacy`)).body.client_id, 'legacy')
  t.same((await call('GET', `${s.adminUrl}/clients`)).body.map((c: { client_id: string }) => c.client_id), ['legacy'])
  const tok = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('legacy', 'secret-legacy') })
  const i = await call('POST', `${s.adminUrl}/oauth2/introspect`, { form: { token: tok.body.access_token } })
  t.equal(i.body.active, true)
  t.equal((await call('GET', `${s.adminUrl}/keys/hydra.jwt.access-token`)).status, 200)
  for (const path of ['/health/alive', '/admin/health/alive', '/health/ready', '/admin/health/ready']) {
    t.same((await call('GET', `${s.adminUrl}${path}`)).body, { status: 'ok' }, path)
  }
  for (const path of ['/version', '/admin/version']) t.match((await call('GET', `${s.adminUrl}${path}`)).body, { version: /^\d+\.\d+\.\d+/ }, path)
  t.equal((await call('GET', `${s.adminUrl}/admin/metrics/prometheus`)).status, 200)
  t.equal((await call('GET', `${s.adminUrl}/metrics/prometheus`)).status, 200)
  t.equal((await call('DELETE', `${s.adminUrl}/clients/legacy`)).status, 204)
  t.equal((await call('GET', `${s.publicUrl}/clients`)).status, 404, 'the public port has no admin routes, prefixed or not')
  t.equal((await call('GET', `${s.adminUrl}/administrator`)).status, 404, 'a plain string-prefix test, as Hydra: /administrator is not /admin + istrator')
})

t.test('with admin API keys, /admin/health/* stays open as /health/* does', async (t) => {
  const s = await startTokenServer({ config: { serve: { admin: { auth: { api_keys: ['an-admin-key-0123456789'] } } } } })
  t.teardown(() => s.close())
  t.equal((await call('GET', `${s.adminUrl}/admin/health/ready`)).status, 200)
  t.equal((await call('GET', `${s.adminUrl}/clients`)).status, 401)
})

forEachStore(t, 'PUT /admin/clients/{id}/lifespans; lifespans in Go form ("90m" → "1h30m0s")', async (t, s) => {
  const c = await client(s, { client_id: 'ls', client_secret: 'secret-ls', client_credentials_grant_access_token_lifespan: '90m' })
  t.equal(c.client_credentials_grant_access_token_lifespan, '1h30m0s', 'normalised on create, as Hydra stores a time.Duration')
  t.equal(c.authorization_code_grant_access_token_lifespan, null)
  const r = await call('PUT', `${s.adminUrl}/admin/clients/ls/lifespans`, { json: { client_credentials_grant_access_token_lifespan: '2m', refresh_token_grant_id_token_lifespan: '1.5h' } })
  t.equal(r.status, 200)
  t.equal(r.body.client_credentials_grant_access_token_lifespan, '2m0s')
  t.equal(r.body.refresh_token_grant_id_token_lifespan, '1h30m0s')
  t.equal(r.body.client_id, 'ls')
  t.notOk('client_secret' in r.body)
  const tok = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('ls', 'secret-ls') })
  t.equal(tok.status, 200, 'the secret is untouched')
  t.equal(tok.body.expires_in, 120, 'the new lifespan applies')
  const got = await call('GET', `${s.adminUrl}/admin/clients/ls`)
  t.equal(got.body.client_credentials_grant_access_token_lifespan, '2m0s')
  const cleared = await call('PUT', `${s.adminUrl}/admin/clients/ls/lifespans`, { json: {} })
  t.equal(cleared.body.client_credentials_grant_access_token_lifespan, null, 'a lifespan left out is reset')
  t.equal((await call('PUT', `${s.adminUrl}/admin/clients/nobody/lifespans`, { json: {} })).status, 404)
  const bad = await call('PUT', `${s.adminUrl}/admin/clients/ls/lifespans`, { json: { implicit_grant_access_token_lifespan: 'soon' } })
  t.equal(bad.status, 400)
  t.equal(bad.body.error, 'invalid_client_metadata')
})

t.test('/.well-known/oauth-authorization-server is the discovery document, as in Hydra', async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  const oidc = await call('GET', `${s.publicUrl}/.well-known/openid-configuration`)
  const rfc8414 = await call('GET', `${s.publicUrl}/.well-known/oauth-authorization-server`)
  t.equal(rfc8414.status, 200)
  t.same(rfc8414.body, oidc.body)
})

forEachStore(t, 'keys: both Hydra sets exist from the start and are published; POST /admin/keys/{set} answers with Location', async (t, s) => {
  const id = await call('GET', `${s.adminUrl}/admin/keys/hydra.openid.id-token`)
  t.equal(id.status, 200)
  t.equal(id.body.keys.length, 1)
  t.match(id.body.keys[0], { alg: 'RS256', use: 'sig', kty: 'RSA' })
  const at = await call('GET', `${s.adminUrl}/admin/keys/hydra.jwt.access-token`)
  const jwks = await call('GET', `${s.publicUrl}/.well-known/jwks.json`)
  t.same(jwks.body.keys.map((k: { kid: string }) => k.kid).sort(), [id.body.keys[0].kid, at.body.keys[0].kid].sort())
  t.notOk(JSON.stringify(jwks.body).includes('"d"'))
  const created = await call('POST', `${s.adminUrl}/admin/keys/my set`, { json: { alg: 'ES256', kid: 'k1', use: 'sig' } })
  t.equal(created.status, 201)
  t.equal(created.headers.location, `${s.adminUrl}/admin/keys/my%20set`)
  t.equal((await call('GET', String(created.headers.location))).body.keys[0].kid, 'k1', 'the Location can be read back')
})

t.test('GET /admin/clients: page_size 0 or less means the default (Hydra), not an error', async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  for (const id of ['a', 'b', 'c']) await client(s, { client_id: id })
  for (const size of ['0', '-1']) {
    const r = await call('GET', `${s.adminUrl}/admin/clients?page_size=${size}`)
    t.equal(r.status, 200, size)
    t.equal(r.body.length, 3, size)
    t.match(String(r.headers.link), /page_size=250>; rel="first"/, `${size}: the links carry the page size used`)
  }
  t.equal((await call('GET', `${s.adminUrl}/admin/clients?page_size=two`)).status, 400, 'not an integer is still 400, as Hydra')
})

forEachStore(t, "audience: fosite's matching (same scheme and host, path equal or below)", async (t, s) => {
  await client(s, { client_id: 'aud', client_secret: 'secret-aud', audience: ['https://api.test/users', 'my-api'] })
  const tok = (audience: string) => call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials', audience }, headers: basic('aud', 'secret-aud') })
  for (const ok of ['https://api.test/users', 'https://api.test/users/', 'https://api.test/users/1234', 'my-api', 'my-api/']) {
    const r = await tok(ok)
    t.equal(r.status, 200, ok)
  }
  const below = await tok('https://api.test/users/1234')
  const i = await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: below.body.access_token } })
  t.same(i.body.aud, ['https://api.test/users/1234'], 'the token carries the audience requested')
  for (const bad of ['https://api.test/users1234', 'http://api.test/users', 'https://api.test:8443/users', 'https://api.test/', 'my-api2']) {
    const r = await tok(bad)
    t.equal(r.status, 400, bad)
    t.equal(r.body.error, 'invalid_request')
    t.equal(r.body.error_description, `Requested audience '${bad}' has not been whitelisted by the OAuth 2.0 Client.`)
  }
})

t.test('JSON answers end with a newline, errors included (as Go json.Encoder writes them)', async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  const texts = async (method: string, url: string, body?: string, headers: Record<string, string> = {}) => {
    const res = await request(url, { method: method as 'GET', body, headers })
    return res.body.text()
  }
  for (const text of [
    await texts('GET', `${s.publicUrl}/nope`),
    await texts('POST', `${s.publicUrl}/oauth2/token`, 'grant_type=password', { 'content-type': 'application/x-www-form-urlencoded' }),
    await texts('GET', `${s.adminUrl}/admin/clients/nobody`),
    await texts('GET', `${s.publicUrl}/.well-known/openid-configuration`),
    await texts('GET', `${s.adminUrl}/admin/clients`),
  ]) {
    t.ok(text.endsWith('}\n') || text.endsWith(']\n'), JSON.stringify(text.slice(-20)))
  }
})
