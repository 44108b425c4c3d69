// The OpenID Connect half of the token-server bench's set-up: a client for the code and refresh
// grants, and the codes and refresh tokens the timed runs spend, obtained through the real flow
// over HTTP. A cookie-keeping "browser" walks /oauth2/auth → login → consent → callback, and a
// login/consent "app" accepts each challenge through the admin API, as any Hydra login app does.
// Nothing here is timed; see bench/token-server.js and bench/README.md.
import { createHash, randomBytes } from 'node:crypto'
import { parseSetCookie } from 'cookie'
import { request } from 'undici'

/** The client's registered callback: never visited, the code is read from the redirect. */
const REDIRECT = 'http://127.0.0.1:5555/callback'
const SECRET = 'bench-oidc-client-secret'
/** What each grant asks for and gets: an access token, a refresh token (offline_access) and an ID token (openid). */
const SCOPE = 'openid offline_access'

/**
 * Registers a confidential client for the code and refresh grants (HTTP Basic, like the client
 * credentials scenario, so both share the verified-secret cache).
 * @param {{ admin: string }} server
 * @returns {Promise<{ id: string, basic: string }>}
 */
export async function registerOidcClient(server) {
  const id = `bench-oidc-${randomBytes(4).toString('hex')}`
  const res = await request(`${server.admin}/admin/clients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: id,
      client_secret: SECRET,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT],
      scope: SCOPE,
    }),
  })
  const text = await res.body.text()
  if (res.statusCode !== 201) throw new Error(`OIDC client not created: ${res.statusCode} ${text}`)
  return { id, basic: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(SECRET)}`).toString('base64')}` }
}

/**
 * Makes `alg` the ID-token signing algorithm: a new key in `hydra.openid.id-token` (the newest key
 * of the set signs, as in Hydra). RS256 is what the server creates at start, so it needs nothing.
 * @param {{ admin: string }} server
 * @param {string} alg
 */
export async function useIdTokenAlgorithm(server, alg) {
  if (alg === 'RS256') return
  const res = await request(`${server.admin}/admin/keys/hydra.openid.id-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ alg, use: 'sig', kid: `bench-${alg.toLowerCase()}` }),
  })
  const text = await res.body.text()
  if (res.statusCode !== 201) throw new Error(`ID-token key (${alg}) not created: ${res.statusCode} ${text}`)
}

/**
 * `n` authorization codes, each with its PKCE verifier, from `concurrency` flows at a time.
 * @param {{ public: string, admin: string }} server
 * @param {{ id: string }} client
 * @returns {Promise<{ code: string, verifier: string }[]>}
 */
export async function issueCodes(server, client, n, concurrency = 16) {
  const codes = []
  let started = 0
  const worker = async () => {
    while (started < n) {
      started++
      codes.push(await oneCode(server, client))
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker))
  return codes
}

/** The token endpoint's form for exchanging one code. */
export function codeExchangeBody({ code, verifier }) {
  return new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }).toString()
}

/** The token endpoint's form for one refresh. */
export function refreshBody(refreshToken) {
  return new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString()
}

/**
 * `n` refresh tokens of `n` separate grants (a code flow and an exchange each).
 * @param {{ public: string, admin: string }} server
 * @param {{ id: string, basic: string }} client
 * @returns {Promise<string[]>}
 */
export async function issueRefreshTokens(server, client, n) {
  const tokens = []
  for (const code of await issueCodes(server, client, n)) {
    const res = await request(`${server.public}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: client.basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: codeExchangeBody(code),
    })
    const body = await res.body.json()
    if (res.statusCode !== 200 || typeof body.refresh_token !== 'string' || typeof body.id_token !== 'string') {
      throw new Error(`code exchange during set-up: ${res.statusCode} ${JSON.stringify(body)}`)
    }
    tokens.push(body.refresh_token)
  }
  return tokens
}

/** One authorization: browser to the authorization endpoint, login and consent accepted, code from the redirect. */
async function oneCode(server, client) {
  const jar = new Map()
  const verifier = randomBytes(32).toString('base64url')
  const auth = new URL(`${server.public}/oauth2/auth`)
  const params = {
    client_id: client.id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: SCOPE,
    state: randomBytes(12).toString('base64url'),
    nonce: randomBytes(12).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }
  for (const [k, v] of Object.entries(params)) auth.searchParams.set(k, v)

  const toLogin = await visit(jar, auth.href)
  const loginChallenge = queryParam(toLogin, 'login_challenge')
  const login = await admin(server, `login/accept?login_challenge=${encodeURIComponent(loginChallenge)}`, { subject: 'bench-user', acr: '0', amr: ['pwd'] })
  const toConsent = await visit(jar, onServer(server, login.redirect_to))
  const consentChallenge = queryParam(toConsent, 'consent_challenge')
  const consent = await admin(server, `consent/accept?consent_challenge=${encodeURIComponent(consentChallenge)}`, { grant_scope: SCOPE.split(' '), session: { id_token: { email: 'bench-user@example.test' } } })
  const toClient = await visit(jar, onServer(server, consent.redirect_to))
  const back = new URL(toClient)
  if (back.searchParams.get('state') !== params.state) throw new Error(`callback with another state: ${toClient}`)
  return { code: queryParam(toClient, 'code'), verifier }
}

/** A browser GET that follows no redirect: keeps the cookies set, returns where it was sent. */
async function visit(jar, url) {
  const headers = jar.size === 0 ? {} : { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') }
  const res = await request(url, { headers })
  const text = await res.body.text()
  const set = res.headers['set-cookie']
  for (const line of set === undefined ? [] : Array.isArray(set) ? set : [set]) {
    const c = parseSetCookie(line)
    if (c.maxAge !== undefined && c.maxAge <= 0) jar.delete(c.name)
    else jar.set(c.name, c.value ?? '')
  }
  const location = res.headers.location
  if (res.statusCode !== 302 && res.statusCode !== 303) throw new Error(`GET ${url}: ${res.statusCode} ${text.slice(0, 300)}`)
  return Array.isArray(location) ? location[0] : location
}

/** The login/consent app's accept call; resolves with the answer's JSON (`redirect_to`). */
async function admin(server, path, body) {
  const res = await request(`${server.admin}/admin/oauth2/auth/requests/${path}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const json = await res.body.json()
  if (res.statusCode !== 200) throw new Error(`PUT ${path}: ${res.statusCode} ${JSON.stringify(json)}`)
  return json
}

/**
 * The server's redirects name its issuer (urls.self.issuer, the default http://127.0.0.1:4444/);
 * the bench server listens on a port the OS picked, so the browser goes there instead.
 */
function onServer(server, url) {
  const u = new URL(url)
  return `${server.public}${u.pathname}${u.search}`
}

function queryParam(url, name) {
  const value = new URL(url).searchParams.get(name)
  if (value === null || value === '') throw new Error(`no ${name} in ${url}`)
  return value
}
