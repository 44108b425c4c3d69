/**
 * The authorization endpoint's request validation and first step (oidc/flow/authorize-*.ts):
 * errors go to the client's redirect URI only once that URI is known to be the client's, in
 * fosite's words; a valid request sends the browser to the login app with Hydra's CSRF cookie.
 */
import t, { type Test } from 'tap'
import { cookieSuffix, murmur3 } from '../src/token-server/oidc/flow/cookies.js'
import { Browser, param, RecordingIssuer } from './helpers/oidc-flow.js'
import { call, startTokenServer, type RunningTokenServer } from './helpers/token-server.js'

const LOGIN = 'https://login.test/login'
const ERROR = 'https://login.test/error'
const CB = 'https://app.test/cb'
const STATE = 'state-0123456789'
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'

async function server(t: Test, config: Record<string, unknown> = {}): Promise<RunningTokenServer> {
  const s = await startTokenServer({
    config: { urls: { login: LOGIN, consent: 'https://login.test/consent', error: ERROR }, ...config },
    options: { authorizationIssuer: new RecordingIssuer() },
  })
  t.teardown(() => s.close())
  const created = await call('POST', `${s.adminUrl}/admin/clients`, {
    json: {
      client_id: 'app',
      client_secret: 'app-secret-1',
      redirect_uris: [CB, 'https://app.test/other'],
      grant_types: ['authorization_code', 'refresh_token', 'implicit'],
      response_types: ['code', 'id_token', 'code id_token', 'id_token token'],
      scope: 'openid offline api',
      audience: ['https://api.test'],
    },
  })
  t.equal(created.status, 201)
  const pub = await call('POST', `${s.adminUrl}/admin/clients`, {
    json: { client_id: 'native', token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1/cb'], grant_types: ['authorization_code'], response_types: ['code'], scope: 'openid' },
  })
  t.equal(pub.status, 201)
  return s
}

function authUrl(s: RunningTokenServer, params: Record<string, string>): string {
  const base = { client_id: 'app', response_type: 'code', redirect_uri: CB, scope: 'openid', state: STATE }
  const u = new URL(`${s.publicUrl}/oauth2/auth`)
  for (const [k, v] of Object.entries({ ...base, ...params })) if (v !== '') u.searchParams.set(k, v)
  return u.href
}

const INVALID_REQUEST = 'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.'

t.test('murmur3 (Hydra cookie suffix): reference vectors', async (t) => {
  t.equal(murmur3(''), 0)
  t.equal(murmur3('hello'), 0x248bfa47)
  t.equal(murmur3('The quick brown fox jumps over the lazy dog'), 0x2e4ff723)
  t.equal(cookieSuffix('hello'), '613153351')
})

t.test('untrusted client or redirect URI → urls.error, never the given redirect', async (t) => {
  const s = await server(t)
  const b = new Browser()
  const cases: [Record<string, string>, string, string][] = [
    [{ client_id: 'nobody' }, 'invalid_client', 'Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method). The requested OAuth 2.0 Client does not exist.'],
    [{ redirect_uri: 'https://evil.test/cb' }, 'invalid_request', `${INVALID_REQUEST} The 'redirect_uri' parameter does not match any of the OAuth 2.0 Client's pre-registered redirect urls.`],
    [{ redirect_uri: `${CB}/` }, 'invalid_request', `${INVALID_REQUEST} The 'redirect_uri' parameter does not match any of the OAuth 2.0 Client's pre-registered redirect urls.`],
    // Two registered: none is implied.
    [{ redirect_uri: '', scope: 'api' }, 'invalid_request', `${INVALID_REQUEST} The 'redirect_uri' parameter does not match any of the OAuth 2.0 Client's pre-registered redirect urls.`],
    [{ redirect_uri: '' }, 'invalid_request', `${INVALID_REQUEST} The 'redirect_uri' parameter is required when using OpenID Connect 1.0.`],
    [{ request_uri: 'https://evil.test/r' }, 'request_uri_not_supported', "The OP does not support use of the request_uri parameter. OpenID Connect 'request_uri' context was given, but the OAuth 2.0 Client does not implement advanced OpenID Connect capabilities."],
    [{ request: 'eyJhbGciOiJub25lIn0.e30.' }, 'request_not_supported', "The OP does not support use of the request parameter. OpenID Connect 'request' context was given, but the OAuth 2.0 Client does not implement advanced OpenID Connect capabilities."],
    [{ response_mode: 'jwt' }, 'unsupported_response_mode', "The authorization server does not support obtaining a response using this response mode. Request with unsupported response_mode 'jwt'."],
  ]
  for (const [params, error, description] of cases) {
    const r = await b.visit(authUrl(s, params))
    t.equal(r.status, 302, JSON.stringify(params))
    t.ok(r.location?.startsWith(`${ERROR}?`), `to urls.error: ${r.location}`)
    t.same([param(r.location, 'error'), param(r.location, 'error_description')], [error, description], JSON.stringify(params))
    t.equal(param(r.location, 'state'), null, 'no state to an error page')
  }
  t.equal(b.jar.size, 0, 'no cookie set for a refused request')
})

t.test('errors after the redirect URI is known go back to the client, with state, in the response mode', async (t) => {
  const s = await server(t)
  const b = new Browser()
  const cases: [Record<string, string>, string, string][] = [
    [{ state: '' }, 'invalid_state', "The state is missing or does not have enough characters and is therefore considered too weak. Request parameter 'state' must be at least be 8 characters long to ensure sufficient entropy."],
    [{ state: 'short' }, 'invalid_state', "The state is missing or does not have enough characters and is therefore considered too weak. Request parameter 'state' must be at least be 8 characters long to ensure sufficient entropy."],
    [{ scope: 'openid admin' }, 'invalid_scope', "The requested scope is invalid, unknown, or malformed. The OAuth 2.0 Client is not allowed to request scope 'admin'."],
    [{ audience: 'https://other.test' }, 'invalid_request', `${INVALID_REQUEST} Requested audience 'https://other.test' has not been whitelisted by the OAuth 2.0 Client.`],
    [{ response_type: 'token' }, 'unsupported_response_type', "The authorization server does not support obtaining a token using this method. The client is not allowed to request response_type 'token'."],
    [{ response_type: '' }, 'unsupported_response_type', "The authorization server does not support obtaining a token using this method. `The request is missing the 'response_type' parameter."],
    [{ code_challenge: CHALLENGE, code_challenge_method: 'plain' }, 'invalid_request', `${INVALID_REQUEST} Clients must use code_challenge_method=S256, plain is not allowed.`],
    [{ code_challenge: CHALLENGE }, 'invalid_request', `${INVALID_REQUEST} Clients must use code_challenge_method=S256, plain is not allowed.`],
    [{ code_challenge: CHALLENGE, code_challenge_method: 'S512' }, 'invalid_request', `${INVALID_REQUEST} The code_challenge_method is not supported, use S256 instead.`],
    [{ prompt: 'none login' }, 'invalid_request', `${INVALID_REQUEST} Parameter 'prompt' was set to 'none', but contains other values as well which is not allowed.`],
    [{ prompt: 'bogus' }, 'invalid_request', `${INVALID_REQUEST} Used unknown value 'bogus' for prompt parameter`],
    [{ prompt: 'none' }, 'login_required', "The Authorization Server requires End-User authentication. Prompt 'none' was requested, but no existing login session was found."],
  ]
  for (const [params, error, description] of cases) {
    const r = await b.visit(authUrl(s, params))
    t.equal(r.status, 303, JSON.stringify(params))
    t.ok(r.location?.startsWith(`${CB}?`), `to the client: ${r.location}`)
    t.same([param(r.location, 'error'), param(r.location, 'error_description'), param(r.location, 'state')], [error, description, params.state ?? STATE], JSON.stringify(params))
  }

  // Implicit and hybrid answers (and their errors) use the fragment.
  const implicit = await b.visit(authUrl(s, { response_type: 'id_token', nonce: '' }))
  t.equal(implicit.status, 303)
  t.equal(param(implicit.location, 'error', 'fragment'), 'invalid_request')
  t.equal(param(implicit.location, 'error_description', 'fragment'), `${INVALID_REQUEST} Parameter 'nonce' must be set when using the OpenID Connect Implicit Flow.`)
  t.equal(param(implicit.location, 'state', 'fragment'), STATE)
  const hybrid = await b.visit(authUrl(s, { response_type: 'id_token code', nonce: '' }))
  t.equal(param(hybrid.location, 'error', 'fragment'), 'invalid_request', 'hybrid: nonce required, response types in any order')
  const shortNonce = await b.visit(authUrl(s, { response_type: 'code id_token', nonce: 'short' }))
  t.equal(param(shortNonce.location, 'error', 'fragment'), 'insufficient_entropy')

  // form_post: an auto-submitting form to the redirect URI, values escaped.
  const post = await b.visit(authUrl(s, { response_mode: 'form_post', scope: 'openid <x>' }))
  t.equal(post.status, 200)
  t.match(post.body, `<form method="post" action="${CB}">`)
  t.match(post.body, '<input type="hidden" name="error" value="invalid_scope"/>')
  t.match(post.body, `<input type="hidden" name="state" value="${STATE}"/>`)
  t.match(post.body, "scope &#39;&lt;x&gt;&#39;")
  t.notMatch(post.body, '<x>')
})

t.test('a valid request: 302 to urls.login with a challenge and Hydra\'s CSRF cookie; GET and POST', async (t) => {
  const s = await server(t)
  for (const method of ['GET', 'POST'] as const) {
    const b = new Browser()
    const url = authUrl(s, { code_challenge: CHALLENGE, code_challenge_method: 'S256', audience: 'https://api.test/users' })
    const r = method === 'GET' ? await b.visit(url) : await b.visit(`${s.publicUrl}/oauth2/auth`, { method, form: Object.fromEntries(new URL(url).searchParams) })
    t.equal(r.status, 302, method)
    t.ok(r.location?.startsWith(`${LOGIN}?login_challenge=`), String(r.location))
    const name = `ory_hydra_login_csrf_${cookieSuffix('app')}`
    t.equal(r.setCookies.length, 1)
    t.match(r.setCookies[0], new RegExp(`^${name}=[A-Za-z0-9_-]{43}; Max-Age=1800; Path=/; HttpOnly; Secure; SameSite=Lax$`), 'HttpOnly, Secure outside dev mode, SameSite None→Lax over http')
    t.ok(b.jar.has(name))
  }
})

t.test('development mode: cookie names end in _dev and lose Secure unless serve.cookies.secure', async (t) => {
  const s = await server(t, { dev: true, serve: { cookies: { same_site_mode: 'Strict' } } })
  const r = await new Browser().visit(authUrl(s, {}))
  t.match(r.setCookies[0], new RegExp(`^ory_hydra_login_csrf_dev_${cookieSuffix('app')}=[^;]+; Max-Age=1800; Path=/; HttpOnly; SameSite=Strict$`))
})

t.test('PKCE enforcement (oauth2.pkce.*)', async (t) => {
  const s = await server(t, { oauth2: { pkce: { enforced_for_public_clients: true } } })
  const b = new Browser()
  const confidential = await b.visit(authUrl(s, {}))
  t.equal(confidential.status, 302, 'confidential client without PKCE: allowed')
  const pub = await b.visit(authUrl(s, { client_id: 'native', redirect_uri: 'http://127.0.0.1:51234/cb' }))
  t.equal(pub.status, 303, 'loopback redirect URI: any port (RFC 8252)')
  t.ok(pub.location?.startsWith('http://127.0.0.1:51234/cb?'))
  t.equal(param(pub.location, 'error_description'), `${INVALID_REQUEST} This client must include a code_challenge when performing the authorize code flow, but it is missing.`)
  const withPkce = await b.visit(authUrl(s, { client_id: 'native', redirect_uri: 'http://127.0.0.1:51234/cb', code_challenge: CHALLENGE, code_challenge_method: 'S256' }))
  t.equal(withPkce.status, 302)

  const all = await server(t, { oauth2: { pkce: { enforced: true } } })
  const r = await b.visit(authUrl(all, {}))
  t.equal(param(r.location, 'error_description'), `${INVALID_REQUEST} Clients must include a code_challenge when performing the authorize code flow, but it is missing.`)
})

t.test('config: urls.* must be URLs; unsupported cookie workaround named', async (t) => {
  const { buildConfigFor } = await import('../src/config/load.js')
  const { TOKEN_SERVER_CONFIG, startupProblems } = await import('../src/token-server/config.js')
  const config = buildConfigFor(TOKEN_SERVER_CONFIG, { urls: { login: 'not a url' }, secrets: { system: ['0123456789abcdef'] } }, {})
  t.match(startupProblems(config, { dev: true }), ['urls.login: not an absolute URL (got "not a url")'])
  t.equal(config.ttl.login_consent_request, '30m')
  t.throws(() => buildConfigFor(TOKEN_SERVER_CONFIG, { serve: { cookies: { same_site_legacy_workaround: true } } }, {}), /same_site_legacy_workaround.*not supported/)
  const env = buildConfigFor(TOKEN_SERVER_CONFIG, {}, { URLS_LOGIN: 'https://login.test/', OAUTH2_PKCE_ENFORCED: 'true', DEV: 'true' })
  t.same([env.urls.login, env.oauth2.pkce.enforced, env.dev], ['https://login.test/', true, true])
})
