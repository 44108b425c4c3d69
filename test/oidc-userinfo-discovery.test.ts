import { createRemoteJWKSet, jwtVerify } from 'jose'
import t from 'tap'
import { basic, call, forEachStore, startTokenServer } from './helpers/token-server.js'
import { authorize, createOidcClient, exchange, granted } from './helpers/oidc.js'

forEachStore(t, 'userinfo: GET with a bearer header or POST with a form; the consent session claims, without ID-token-only ones', async (t, s) => {
  const client = await createOidcClient(s)
  const g = granted(client.id)
  const tokens = (await exchange(s, client, (await authorize(s, g)).code!)).body
  const get = await call('GET', `${s.publicUrl}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  t.equal(get.status, 200, JSON.stringify(get.body))
  t.same(Object.keys(get.body).sort(), ['acr', 'amr', 'aud', 'auth_time', 'email', 'iat', 'iss', 'rat', 'sub'])
  t.match(get.body, { sub: 'alice', iss: s.server.context.issuer, aud: [client.id], email: 'alice@example.test', acr: 'urn:example:pwd', amr: ['pwd'], auth_time: g.auth_time, rat: g.request.requested_at })
  t.equal(get.headers['cache-control'], 'no-store')
  const post = await call('POST', `${s.publicUrl}/userinfo`, { form: { access_token: tokens.access_token } })
  t.same(post.body, get.body, 'POST with access_token in the body')

  const none = await call('GET', `${s.publicUrl}/userinfo`)
  t.equal(none.status, 401)
  const unauthorized = 'The request could not be authorized. Check that you provided valid credentials in the right format.'
  t.same(none.body, { error: 'request_unauthorized', error_description: unauthorized })
  t.equal(none.headers['www-authenticate'], `Bearer error="request_unauthorized",error_description="${unauthorized}"`)
  const query = await call('GET', `${s.publicUrl}/userinfo?access_token=${tokens.access_token}`)
  t.equal(query.status, 401, 'not from the query string (RFC 6750 §2.3)')
  const refresh = await call('GET', `${s.publicUrl}/userinfo`, { headers: { authorization: `Bearer ${tokens.refresh_token}` } })
  t.same(refresh.body, { error: 'invalid_token', error_description: 'Only access tokens are allowed in the authorization header.' })
  t.match(refresh.headers['www-authenticate'], /^Bearer error="invalid_token"/)

  await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token: tokens.access_token }, headers: basic(client.id, client.secret) })
  const revoked = await call('GET', `${s.publicUrl}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  t.same([revoked.status, revoked.body.error], [401, 'request_unauthorized'], 'a revoked token')
})

t.test('userinfo signed (userinfo_signed_response_alg RS256): application/jwt with the ID token key', async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  const client = await createOidcClient(s, { userinfo_signed_response_alg: 'RS256' })
  const tokens = (await exchange(s, client, (await authorize(s, granted(client.id))).code!)).body
  const res = await call('GET', `${s.publicUrl}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  t.equal(res.status, 200)
  t.equal(res.headers['content-type'], 'application/jwt')
  const { payload } = await jwtVerify(String(res.body), createRemoteJWKSet(new URL(`${s.publicUrl}/.well-known/jwks.json`)), { issuer: s.server.context.issuer, audience: client.id })
  t.match(payload, { sub: 'alice', email: 'alice@example.test' })
  t.type(payload.jti, 'string')

  const cc = await createOidcClient(s, { grant_types: ['client_credentials'] })
  const ccToken = (await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic(cc.id, cc.secret) })).body.access_token
  const ccInfo = await call('GET', `${s.publicUrl}/userinfo`, { headers: { authorization: `Bearer ${ccToken}` } })
  t.same(ccInfo.body, { aud: [cc.id] }, 'a client-credentials token has no end user: its audience only, as Hydra')
})

t.test("discovery: Hydra's fields, from the config", async (t) => {
  const s = await startTokenServer({
    config: {
      urls: { self: { issuer: 'https://auth.example.test/', admin: 'https://admin.example.test', public: 'https://public.example.test/' } },
      oidc: { subject_identifiers: { supported_types: ['pairwise'], pairwise: { salt: 'a-pairwise-salt' } } },
      webfinger: { oidc_discovery: { supported_claims: ['email', 'sub'], supported_scope: ['profile'] } },
    },
  })
  t.teardown(() => s.close())
  const d = (await call('GET', `${s.publicUrl}/.well-known/openid-configuration`)).body
  t.same(d, {
    issuer: 'https://auth.example.test/',
    authorization_endpoint: 'https://public.example.test/oauth2/auth',
    token_endpoint: 'https://public.example.test/oauth2/token',
    jwks_uri: 'https://auth.example.test/.well-known/jwks.json',
    subject_types_supported: ['pairwise'],
    response_types_supported: ['code', 'code id_token', 'id_token', 'token id_token', 'token', 'token id_token code'],
    claims_supported: ['sub', 'email'],
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    response_modes_supported: ['query', 'fragment', 'form_post'],
    userinfo_endpoint: 'https://public.example.test/userinfo',
    scopes_supported: ['offline_access', 'offline', 'openid', 'profile'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'none'],
    userinfo_signing_alg_values_supported: ['none', 'RS256'],
    id_token_signing_alg_values_supported: ['RS256'],
    id_token_signed_response_alg: ['RS256'],
    userinfo_signed_response_alg: ['RS256'],
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    require_request_uri_registration: true,
    claims_parameter_supported: false,
    revocation_endpoint: 'https://auth.example.test/oauth2/revoke',
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    frontchannel_logout_supported: true,
    frontchannel_logout_session_supported: true,
    end_session_endpoint: 'https://auth.example.test/oauth2/sessions/logout',
    request_object_signing_alg_values_supported: ['none', 'RS256', 'ES256'],
    code_challenge_methods_supported: ['plain', 'S256'],
    introspection_endpoint: 'https://admin.example.test/admin/oauth2/introspect',
  })
  const jwt = await startTokenServer({ config: { strategies: { access_token: 'jwt' }, oidc: { subject_identifiers: { supported_types: ['pairwise'], pairwise: { salt: 'a-pairwise-salt' } } } } })
  t.teardown(() => jwt.close())
  t.same((await call('GET', `${jwt.publicUrl}/.well-known/openid-configuration`)).body.subject_types_supported, ['public'], 'pairwise is dropped with JWT access tokens, as Hydra')
  const defaults = await startTokenServer()
  t.teardown(() => defaults.close())
  const dd = (await call('GET', `${defaults.publicUrl}/.well-known/openid-configuration`)).body
  t.same([dd.subject_types_supported, dd.claims_supported, dd.userinfo_endpoint], [['public'], ['sub'], 'http://127.0.0.1:4444/userinfo'])
})
