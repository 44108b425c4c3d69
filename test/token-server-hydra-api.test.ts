/**
 * Hydra 2.x behaviours of the token server's HTTP APIs that scripts, tutorials and SDKs written
 * for Hydra rely on (multipart forms, unprefixed admin paths, lifespans, discovery, keys, pages).
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { promisify } from 'node:util'
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

/** The fields and types of `OAuth2Client` in the official SDK (@ory/hydra-client), read from its declarations. */
function sdkClientFields(): Map<string, string> {
  const dts = readFileSync(createRequire(import.meta.url).resolve('@ory/hydra-client/dist/api.d.ts'), 'utf8')
  const body = /export interface OAuth2Client \{([\s\S]*?)\n\}/.exec(dts)![1]!
  return new Map([...body.matchAll(/^\s+'?([a-z_]+)'?\?: ([^;]+);$/gm)].map((m) => [m[1]!, m[2]!]))
}

/** Every SDK field, with a value of the SDK's type (what a fully configured client sends). */
const FULL_CLIENT: Record<string, unknown> = {
  client_id: 'full',
  client_name: 'Full',
  client_secret: 'secret-full',
  redirect_uris: ['https://app.test/cb'],
  grant_types: ['client_credentials', 'authorization_code'],
  response_types: ['code'],
  scope: 'api',
  audience: ['https://api.test'],
  owner: 'team',
  policy_uri: 'https://app.test/policy',
  allowed_cors_origins: ['https://app.test'],
  tos_uri: 'https://app.test/tos',
  client_uri: 'https://app.test',
  logo_uri: 'https://app.test/logo.png',
  contacts: ['ops@app.test'],
  subject_type: 'public',
  sector_identifier_uri: 'https://app.test/sector.json',
  jwks: { keys: [] }, // jwks_uri below, in a second client: Hydra allows one of the two

  token_endpoint_auth_method: 'client_secret_basic',
  token_endpoint_auth_signing_alg: 'RS256',
  request_uris: ['https://app.test/request'],
  request_object_signing_alg: 'RS256',
  userinfo_signed_response_alg: 'none',
  frontchannel_logout_uri: 'https://app.test/fc',
  frontchannel_logout_session_required: true,
  post_logout_redirect_uris: ['https://app.test/bye'],
  backchannel_logout_uri: 'https://app.test/bc',
  backchannel_logout_session_required: true,
  metadata: { team: 'x' },
  access_token_strategy: 'opaque',
  skip_consent: true,
  skip_logout_consent: true,
  authorization_code_grant_access_token_lifespan: '1h',
  authorization_code_grant_id_token_lifespan: '1h',
  authorization_code_grant_refresh_token_lifespan: '1h',
  client_credentials_grant_access_token_lifespan: '1h',
  implicit_grant_access_token_lifespan: '1h',
  implicit_grant_id_token_lifespan: '1h',
  jwt_bearer_grant_access_token_lifespan: '1h',
  refresh_token_grant_access_token_lifespan: '1h',
  refresh_token_grant_id_token_lifespan: '1h',
  refresh_token_grant_refresh_token_lifespan: '1h',
}

/** Fields of Hydra 2.2+ the 2.1.1 SDK does not declare yet. */
const NEWER_THAN_SDK = ['skip_logout_consent']
/** SDK fields only Hydra's dynamic client registration fills in, which this server does not offer. */
const DYNAMIC_REGISTRATION_ONLY = ['registration_access_token', 'registration_client_uri']

function typeMatches(sdkType: string, v: unknown): boolean {
  if (v === null) return true // Hydra's nullable lists and durations
  if (sdkType === 'string') return typeof v === 'string'
  if (sdkType === 'number') return typeof v === 'number'
  if (sdkType === 'boolean') return typeof v === 'boolean'
  if (sdkType === 'Array<string>') return Array.isArray(v) && v.every((x) => typeof x === 'string')
  return sdkType === 'any'
}

forEachStore(t, "client JSON: every field of the SDK's OAuth2Client, with its type; nothing else", async (t, s) => {
  const sdk = sdkClientFields()
  t.ok(sdk.size > 40, `read ${sdk.size} fields from the SDK`)
  t.same(Object.keys({ ...FULL_CLIENT, jwks_uri: '' }).filter((k) => !sdk.has(k)), NEWER_THAN_SDK, 'the test clients cover the SDK, and only it')
  const created = await call('POST', `${s.adminUrl}/admin/clients`, { json: FULL_CLIENT })
  t.equal(created.status, 201, JSON.stringify(created.body))
  const got = await call('GET', `${s.adminUrl}/admin/clients/full`)
  const withUri = await call('POST', `${s.adminUrl}/admin/clients`, { json: { ...FULL_CLIENT, client_id: 'full-uri', jwks: undefined, jwks_uri: 'https://app.test/jwks.json' } })
  t.equal(withUri.status, 201, JSON.stringify(withUri.body))
  t.equal(withUri.body.jwks_uri, 'https://app.test/jwks.json')
  const both = await call('POST', `${s.adminUrl}/admin/clients`, { json: { ...FULL_CLIENT, client_id: 'both', jwks_uri: 'https://app.test/jwks.json' } })
  t.equal(
    both.body.error_description,
    "The value of one of the Client Metadata fields is invalid and the server has rejected this request. Note that an Authorization Server MAY choose to substitute a valid value for any requested parameter of a Client's Metadata. Fields jwks and jwks_uri can not both be set, you must choose one.",
    'client/error.go description, then the hint',
  )
  for (const [name, doc] of [['POST', created.body], ['GET', got.body]] as const) {
    const missing = [...sdk.keys()].filter((k) => !(k in doc) && !DYNAMIC_REGISTRATION_ONLY.includes(k) && k !== 'jwks_uri' && !(name === 'GET' && k === 'client_secret'))
    t.same(missing, [], `${name}: no SDK field is missing`)
    t.same(Object.keys(doc).filter((k) => !sdk.has(k)), NEWER_THAN_SDK, `${name}: no field the SDK does not know`)
    for (const [k, v] of Object.entries(doc)) if (sdk.has(k)) t.ok(typeMatches(sdk.get(k)!, v), `${name} ${k}: ${JSON.stringify(v)} is ${sdk.get(k)}`)
  }
  t.same(got.body.jwks, { keys: [] })
  t.same(got.body.metadata, { team: 'x' })
  t.equal(got.body.skip_logout_consent, true)
  t.equal(got.body.client_credentials_grant_access_token_lifespan, '1h0m0s')
})

forEachStore(t, "client JSON: Hydra's nulls and omissions for a client created with nothing set", async (t, s) => {
  const created = await call('POST', `${s.adminUrl}/admin/clients`, { json: {} })
  t.equal(created.status, 201)
  const c = created.body
  // Go's nil slices in the answer to the create: null.
  for (const f of ['redirect_uris', 'grant_types', 'response_types', 'audience', 'contacts', 'allowed_cors_origins']) t.equal(c[f], null, `POST ${f}`)
  t.equal(c.skip_logout_consent, null)
  t.equal(c.skip_consent, false)
  // omitempty fields are left out.
  for (const f of ['jwks', 'metadata', 'jwks_uri', 'sector_identifier_uri', 'token_endpoint_auth_signing_alg', 'request_object_signing_alg', 'request_uris', 'post_logout_redirect_uris', 'frontchannel_logout_uri', 'backchannel_logout_uri', 'frontchannel_logout_session_required', 'backchannel_logout_session_required', 'access_token_strategy']) {
    t.notOk(f in c, `POST omits ${f}`)
  }
  for (const f of ['client_name', 'owner', 'policy_uri', 'tos_uri', 'client_uri', 'logo_uri']) t.equal(c[f], '', `POST ${f} is ""`)
  t.equal(c.userinfo_signed_response_alg, 'none')
  t.equal(c.subject_type, 'public')
  t.equal(c.client_credentials_grant_access_token_lifespan, null)
  // Read back, Hydra's database has turned the nil lists into [], the jwks into {} and metadata into null.
  const got = (await call('GET', `${s.adminUrl}/admin/clients/${c.client_id}`)).body
  for (const f of ['redirect_uris', 'grant_types', 'response_types', 'audience', 'contacts', 'allowed_cors_origins']) t.same(got[f], [], `GET ${f}`)
  t.same(got.jwks, {})
  t.equal(got.metadata, null)
  t.equal(got.skip_logout_consent, null)
  t.notOk('request_uris' in got)
  const listed = (await call('GET', `${s.adminUrl}/admin/clients`)).body[0]
  t.same(listed, got, 'the list shows what GET shows')
  // An unset grant_types still means authorization_code only (fosite's default).
  const tok = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic(c.client_id, c.client_secret) })
  t.equal(tok.status, 400)
  t.equal(tok.body.error, 'unauthorized_client')
  // A JSON Patch on a list works on the client as read back, as in Hydra.
  const patched = await call('PATCH', `${s.adminUrl}/admin/clients/${c.client_id}`, { json: [{ op: 'add', path: '/grant_types/-', value: 'client_credentials' }] })
  t.equal(patched.status, 200, JSON.stringify(patched.body))
  t.same(patched.body.grant_types, ['client_credentials'])
})

t.test("the Kyma client-credentials tutorial's curl calls: POST :4445/clients, then curl -F on /oauth2/token", async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  const curl = async (...args: string[]) => JSON.parse((await promisify(execFile)('curl', ['-sS', ...args])).stdout)
  const created = await curl('-X', 'POST', `${s.adminUrl}/clients`, '-H', 'Content-Type: application/json', '-d', '{"grant_types":["client_credentials"],"scope":"read write"}')
  t.type(created.client_id, 'string')
  const tok = await curl('-X', 'POST', '-u', `${created.client_id}:${created.client_secret}`, `${s.publicUrl}/oauth2/token`, '-F', 'grant_type=client_credentials', '-F', 'scope=read')
  t.equal(tok.token_type, 'bearer')
  t.equal(tok.scope, 'read')
  const i = await curl('-X', 'POST', `${s.adminUrl}/oauth2/introspect`, '-F', `token=${tok.access_token}`)
  t.equal(i.active, true)
})
