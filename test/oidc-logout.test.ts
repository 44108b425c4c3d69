/**
 * Logout end to end (Hydra's consent/strategy_logout_test.go, as far as it applies): a browser
 * (cookies, no redirects followed) logs in through the real flow and issuer, the login/consent/
 * logout app drives the admin API with @ory/hydra-client, a relying party's back-channel
 * receiver is a node:http server on 127.0.0.1:0, and logout tokens are verified with jose
 * against the published JWKS.
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose'
import t, { type Test } from 'tap'
import { ID_TOKEN_SET } from '../src/token-server/keys.js'
import { adminSdk, Browser, param } from './helpers/oidc-flow.js'
import { basic, call, forEachStore, startTokenServer, type RunningTokenServer } from './helpers/token-server.js'

const LOGIN = 'https://login.test/login'
const CONSENT = 'https://login.test/consent'
const LOGOUT = 'https://login.test/logout'
const ERROR = 'https://login.test/error'
const LOGGED_OUT = 'https://login.test/logged-out'
const CB = 'https://app.test/cb'
const BYE = 'https://app.test/bye'
const FRONT = 'https://app.test/front-logout?from=op'
const CONFIG = { urls: { login: LOGIN, consent: CONSENT, logout: LOGOUT, error: ERROR, post_logout_redirect: LOGGED_OUT } }

/** A relying party's back-channel endpoint: records each POST and answers 200. */
class Receiver {
  readonly server: Server
  readonly received: { contentType: string; form: URLSearchParams }[] = []
  readonly #waiting: ((n: number) => void)[] = []

  constructor() {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        this.received.push({ contentType: String(req.headers['content-type']), form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')) })
        res.writeHead(200).end()
        for (const w of this.#waiting.splice(0)) w(this.received.length)
      })
    })
  }

  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1')
    await once(this.server, 'listening')
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/backchannel`
  }

  /** Resolves once `n` requests have arrived. */
  async count(n: number): Promise<void> {
    while (this.received.length < n) await new Promise<number>((resolve) => this.#waiting.push(resolve))
  }

  close(): Promise<void> {
    this.server.closeAllConnections()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

async function receiver(t: Test): Promise<{ r: Receiver; url: string }> {
  const r = new Receiver()
  const url = await r.listen()
  t.teardown(() => r.close())
  return { r, url }
}

async function registerClient(s: RunningTokenServer, id: string, over: Record<string, unknown> = {}): Promise<void> {
  const r = await call('POST', `${s.adminUrl}/admin/clients`, {
    json: {
      client_id: id,
      client_secret: 'rp-secret-123',
      redirect_uris: [CB],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: 'openid offline',
      post_logout_redirect_uris: [BYE],
      ...over,
    },
  })
  if (r.status !== 201) throw new Error(`client not created: ${JSON.stringify(r.body)}`)
}

/** The issuer (urls.self.issuer) is not where the test server listens: browse there instead. */
const local = (s: RunningTokenServer, u: string): string => `${s.publicUrl}${new URL(u).pathname}${new URL(u).search}`

function authUrl(s: RunningTokenServer, clientId: string, extra: Record<string, string> = {}): string {
  const u = new URL(`${s.publicUrl}/oauth2/auth`)
  for (const [k, v] of Object.entries({ client_id: clientId, response_type: 'code', redirect_uri: CB, scope: 'openid', state: 'state-0123456789', ...extra })) u.searchParams.set(k, v)
  return u.href
}

/**
 * Logs the browser in at `clientId` through the whole flow (login remembered, consent), exchanges
 * the code and returns the ID token.
 */
async function signIn(t: Test, s: RunningTokenServer, b: Browser, clientId: string): Promise<string> {
  const sdk = adminSdk(s.adminUrl)
  const start = await b.visit(authUrl(s, clientId))
  t.equal(start.status, 302, 'to the login app')
  const loginChallenge = param(start.location, 'login_challenge')!
  const { data: login } = await sdk.acceptOAuth2LoginRequest({ loginChallenge, acceptOAuth2LoginRequest: { subject: 'alice', remember: true, remember_for: 3600 } })
  const toConsent = await b.visit(local(s, login.redirect_to))
  const consentChallenge = param(toConsent.location, 'consent_challenge')!
  t.ok(consentChallenge, 'to the consent app')
  const { data: consent } = await sdk.acceptOAuth2ConsentRequest({ consentChallenge, acceptOAuth2ConsentRequest: { grant_scope: ['openid'], remember: true } })
  const back = await b.visit(local(s, consent.redirect_to))
  const code = param(back.location, 'code')
  t.ok(code, 'a code at the client')
  const tokens = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'authorization_code', code: code!, redirect_uri: CB }, headers: basic(clientId, 'rp-secret-123') })
  t.equal(tokens.status, 200, JSON.stringify(tokens.body))
  return String(tokens.body.id_token)
}

/** Signs claims with the server's own ID token key: a hint only this server could have made. */
async function hintWith(s: RunningTokenServer, claims: Record<string, unknown>): Promise<string> {
  const key = await s.server.context.keys.signingKey(ID_TOKEN_SET, 'RS256')
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.key)
}

function logoutUrl(s: RunningTokenServer, params: Record<string, string> = {}): string {
  const query = new URLSearchParams(params).toString()
  return `${s.publicUrl}/oauth2/sessions/logout${query === '' ? '' : `?${query}`}`
}

/**
 * prompt=none: with the session remembered, the login and consent apps are asked with `skip`
 * (Hydra always asks them) and accept, and the client gets a code; without it, login_required.
 */
async function silently(s: RunningTokenServer, b: Browser, clientId: string): Promise<{ code: string | null; error: string | null }> {
  const sdk = adminSdk(s.adminUrl)
  const r = await b.visit(authUrl(s, clientId, { prompt: 'none' }))
  if (r.location?.startsWith(`${CB}?`)) return { code: null, error: param(r.location, 'error') }
  const loginChallenge = param(r.location, 'login_challenge')
  if (loginChallenge === null) return { code: null, error: `went to ${r.location}` }
  const { data: lr } = await sdk.getOAuth2LoginRequest({ loginChallenge })
  if (!lr.skip || lr.subject !== 'alice') return { code: null, error: `login not skipped: ${JSON.stringify([lr.skip, lr.subject])}` }
  const { data: login } = await sdk.acceptOAuth2LoginRequest({ loginChallenge, acceptOAuth2LoginRequest: { subject: 'alice' } })
  const consentChallenge = param((await b.visit(local(s, login.redirect_to))).location, 'consent_challenge')!
  const { data: consent } = await sdk.acceptOAuth2ConsentRequest({ consentChallenge, acceptOAuth2ConsentRequest: { grant_scope: ['openid'] } })
  const back = await b.visit(local(s, consent.redirect_to))
  return { code: param(back.location, 'code'), error: param(back.location, 'error') }
}

/** The error page the browser was sent to: `urls.error` with error and error_description. */
function errorPage(t: Test, r: { status: number; location: string | undefined }): { error: string | null; description: string | null } {
  t.equal(r.status, 302)
  t.ok(r.location?.startsWith(`${ERROR}?`), `to urls.error: ${r.location}`)
  return { error: param(r.location, 'error'), description: param(r.location, 'error_description') }
}

forEachStore(
  t,
  'RP-initiated logout: hint + post_logout_redirect_uri + state → logout app → accept → front- and back-channel; the session is gone; the verifier is single-use',
  async (t, s) => {
    const ISSUER = s.server.context.issuer
    const { r, url } = await receiver(t)
    await registerClient(s, 'rp', { frontchannel_logout_uri: FRONT, frontchannel_logout_session_required: true, backchannel_logout_uri: url })
    const sdk = adminSdk(s.adminUrl)
    const b = new Browser()
    const idToken = await signIn(t, s, b, 'rp')
    const jwks = createRemoteJWKSet(new URL(`${s.publicUrl}/.well-known/jwks.json`))
    const { payload: id } = await jwtVerify(idToken, jwks, { issuer: ISSUER, audience: 'rp' })
    const sid = String(id.sid)
    t.ok(sid, 'the ID token names its session')

    const discovery = await call('GET', `${s.publicUrl}/.well-known/openid-configuration`)
    t.equal(discovery.body.end_session_endpoint, new URL('oauth2/sessions/logout', ISSUER).href)

    const start = await b.visit(logoutUrl(s, { id_token_hint: idToken, post_logout_redirect_uri: BYE, state: 'bye-state-1' }))
    t.equal(start.status, 302)
    t.ok(start.location?.startsWith(`${LOGOUT}?`), `to the logout app: ${start.location}`)
    const logoutChallenge = param(start.location, 'logout_challenge')!

    const { data: lr } = await sdk.getOAuth2LogoutRequest({ logoutChallenge })
    t.match(lr, { challenge: logoutChallenge, subject: 'alice', sid, rp_initiated: true, client: { client_id: 'rp' } })
    t.ok(lr.request_url?.startsWith('/oauth2/sessions/logout?id_token_hint='), `request_url as the browser sent it (Hydra's r.URL): ${lr.request_url}`)
    t.notOk(lr.client && 'client_secret' in lr.client, 'no secret in the client JSON')

    const { data: accepted } = await sdk.acceptOAuth2LogoutRequest({ logoutChallenge })
    t.match(accepted.redirect_to, /^http:\/\/127\.0\.0\.1:4444\/oauth2\/sessions\/logout\?logout_verifier=[A-Za-z0-9_-]{43}$/)
    const done = await b.visit(local(s, accepted.redirect_to))

    // Front-channel: a page with the client's iframe, which then sends the browser on.
    t.equal(done.status, 200)
    t.match(done.body, /<iframe src="[^"]+" onload="done\(this\)"><\/iframe>/)
    const iframes = [...done.body.matchAll(/<iframe src="([^"]+)"/g)].map((m) => m[1]!.replaceAll('&amp;', '&'))
    t.equal(iframes.length, 1, 'one iframe: one client registered a front-channel URI')
    const front = new URL(iframes[0]!)
    t.equal(`${front.origin}${front.pathname}`, 'https://app.test/front-logout')
    t.same([front.searchParams.get('from'), front.searchParams.get('iss'), front.searchParams.get('sid')], ['op', ISSUER, sid], 'its own query kept, iss and sid added')
    t.ok(done.body.includes('var redir = "https://app.test/bye?state=bye-state-1";'), 'then on to the registered post-logout URI with state')
    t.ok(done.body.includes('content="7; URL=https://app.test/bye?state=bye-state-1"'), 'a meta refresh for when scripts do not run')
    t.notOk(b.jar.has('ory_hydra_session'), 'the session cookie is cleared')
    t.match(done.setCookies.find((c) => c.startsWith('ory_hydra_session=')), /Max-Age=0/)

    // Back-channel: one logout token, verified as a relying party would.
    await r.count(1)
    const delivery = r.received[0]!
    t.equal(delivery.contentType, 'application/x-www-form-urlencoded')
    const logoutToken = delivery.form.get('logout_token')!
    const { payload: lt, protectedHeader } = await jwtVerify(logoutToken, jwks, { issuer: ISSUER, audience: 'rp', maxTokenAge: '5 minutes' })
    t.same(lt.events, { 'http://schemas.openid.net/event/backchannel-logout': {} })
    t.equal(lt.sid, sid)
    t.notOk('sub' in lt, 'no sub, as Hydra: the sid names the session')
    t.notOk('nonce' in lt, 'never a nonce (Back-Channel Logout §2.4)')
    t.type(lt.jti, 'string')
    t.ok(typeof lt.iat === 'number' && typeof lt.exp === 'number' && lt.exp > lt.iat)
    t.same(lt.aud, ['rp'])
    t.equal(protectedHeader.kid, decodeProtectedHeader(idToken).kid, 'signed with the ID token key')

    // The session is gone: prompt=none now needs a login.
    t.same(await silently(s, b, 'rp'), { code: null, error: 'login_required' })
    const cookieless = new Browser()
    cookieless.jar.set('ory_hydra_session', sid)
    t.same(await silently(s, cookieless, 'rp'), { code: null, error: 'login_required' }, 'even for a browser that kept the cookie')

    // The verifier again (a double submit): on to the post-logout URI, nothing else happens.
    const replay = await b.visit(local(s, accepted.redirect_to))
    t.equal(replay.status, 302)
    t.equal(replay.location, `${BYE}?state=bye-state-1`)
    t.same(replay.setCookies, [])
    // Closing waits for every back-channel delivery started: none was started by the replay.
    await s.close()
    t.equal(r.received.length, 1, 'one logout token in all')
  },
  CONFIG,
)

forEachStore(
  t,
  'reject keeps the session; logout from the session cookie (no hint) asks the logout app, and its verifier only works in that browser',
  async (t, s) => {
    await registerClient(s, 'rp')
    const sdk = adminSdk(s.adminUrl)
    const b = new Browser()
    const idToken = await signIn(t, s, b, 'rp')

    const start = await b.visit(logoutUrl(s, { id_token_hint: idToken }))
    const logoutChallenge = param(start.location, 'logout_challenge')!
    t.ok(logoutChallenge)
    const rejected = await sdk.rejectOAuth2LogoutRequest({ logoutChallenge })
    t.equal(rejected.status, 204)
    t.ok((await silently(s, b, 'rp')).code, 'after a rejected logout the session still signs the user in silently')

    // Without a hint: the browser's own session, no relying party.
    const mine = await b.visit(logoutUrl(s))
    t.ok(mine.location?.startsWith(`${LOGOUT}?`))
    const challenge = param(mine.location, 'logout_challenge')!
    const { data: lr } = await sdk.getOAuth2LogoutRequest({ logoutChallenge: challenge })
    t.match(lr, { subject: 'alice', rp_initiated: false, client: null, request_url: '/oauth2/sessions/logout' })
    const { data: accepted } = await sdk.acceptOAuth2LogoutRequest({ logoutChallenge: challenge })

    // Another browser (another user's, or one without a session) cannot end this session with it.
    const other = new Browser()
    const elsewhere = await other.visit(local(s, accepted.redirect_to))
    t.same([elsewhere.status, elsewhere.location], [302, LOGGED_OUT])
    t.ok((await silently(s, b, 'rp')).code, 'the session survived the verifier in another browser')

    // In its own browser it ends the session; no client registered a front-channel URI: a redirect.
    const done = await b.visit(local(s, accepted.redirect_to))
    t.same([done.status, done.location], [302, LOGGED_OUT])
    t.notOk(b.jar.has('ory_hydra_session'))
    t.same(await silently(s, b, 'rp'), { code: null, error: 'login_required' })

    // Nothing to log out any more: straight to the post-logout URI, the logout app is not asked.
    const again = await b.visit(logoutUrl(s))
    t.same([again.status, again.location], [302, LOGGED_OUT])
  },
  CONFIG,
)

forEachStore(
  t,
  'DELETE /admin/oauth2/auth/sessions/login?sid= ends the session and notifies by back-channel; by subject it notifies nobody',
  async (t, s) => {
    const ISSUER = s.server.context.issuer
    const { r, url } = await receiver(t)
    await registerClient(s, 'rp', { backchannel_logout_uri: url })
    const sdk = adminSdk(s.adminUrl)
    const b = new Browser()
    const sid = String((await jwtVerify(await signIn(t, s, b, 'rp'), createRemoteJWKSet(new URL(`${s.publicUrl}/.well-known/jwks.json`)))).payload.sid)
    const revoked = await sdk.revokeOAuth2LoginSessions({ sid })
    t.equal(revoked.status, 204)
    await r.count(1)
    const jwks = createRemoteJWKSet(new URL(`${s.publicUrl}/.well-known/jwks.json`))
    const { payload } = await jwtVerify(r.received[0]!.form.get('logout_token')!, jwks, { issuer: ISSUER, audience: 'rp' })
    t.equal(payload.sid, sid)
    t.same(await silently(s, b, 'rp'), { code: null, error: 'login_required' })
    t.equal((await sdk.revokeOAuth2LoginSessions({ sid })).status, 204, 'a session already gone: 204, nobody notified')

    const b2 = new Browser()
    await signIn(t, s, b2, 'rp')
    t.equal((await sdk.revokeOAuth2LoginSessions({ subject: 'alice' })).status, 204)
    t.same(await silently(s, b2, 'rp'), { code: null, error: 'login_required' })
    await s.close()
    t.equal(r.received.length, 1, 'only the revocation by sid sent a logout token')
  },
  CONFIG,
)

t.test('refused logout requests go to urls.error with fosite texts; the session stays', async (t) => {
  const s = await startTokenServer({ config: CONFIG })
  t.teardown(() => s.close())
  const ISSUER = s.server.context.issuer
  await registerClient(s, 'rp')
  await registerClient(s, 'other', { post_logout_redirect_uris: ['https://app.test/other-bye'] })
  const b = new Browser()
  const idToken = await signIn(t, s, b, 'rp')
  const { sid, sub } = JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString('utf8')) as { sid: string; sub: string }
  const now = Math.floor(Date.now() / 1000)
  const base = { iss: ISSUER, aud: ['rp'], sub, sid, iat: now - 60, exp: now + 600 }
  const prefix = 'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed. '
  const refused = async (params: Record<string, string>, method: 'GET' | 'POST' = 'GET') => {
    const r = method === 'GET' ? await b.visit(logoutUrl(s, params)) : await b.visit(logoutUrl(s), { method: 'POST', form: params })
    const e = errorPage(t, r)
    t.equal(e.error, 'invalid_request')
    t.ok(e.description?.startsWith(prefix), String(e.description))
    return e.description!.slice(prefix.length)
  }

  t.equal(
    await refused({ id_token_hint: idToken, post_logout_redirect_uri: 'https://app.test/not-registered', state: 'x' }),
    'Logout failed because query parameter post_logout_redirect_uri is not a whitelisted as a post_logout_redirect_uri for the client.',
  )
  t.equal(
    await refused({ id_token_hint: idToken, post_logout_redirect_uri: 'https://app.test/other-bye' }, 'POST'),
    'Logout failed because query parameter post_logout_redirect_uri is not a whitelisted as a post_logout_redirect_uri for the client.',
    "another client's URI (by POST too)",
  )
  t.equal(await refused({ id_token_hint: 'i am not valid' }), 'Logout failed because query parameter id_token_hint is not valid: compact JWS format must have three parts.')
  t.equal(await refused({ id_token_hint: `${idToken.slice(0, -4)}AAAA` }), 'Logout failed because query parameter id_token_hint is not valid: its signature is not valid.')
  const foreign = await new SignJWT(base).setProtectedHeader({ alg: 'HS256', kid: 'not-ours' }).sign(new Uint8Array(32))
  t.equal(await refused({ id_token_hint: foreign }), 'Logout failed because query parameter id_token_hint is not valid: it is not signed by a key of this server.')
  t.equal(
    await refused({ id_token_hint: await hintWith(s, { ...base, iss: 'https://some-issuer.test' }) }),
    `Logout failed because issuer claim value 'https://some-issuer.test' from query parameter id_token_hint does not match with issuer value from configuration '${ISSUER}'.`,
  )
  t.equal(await refused({ id_token_hint: await hintWith(s, { ...base, iat: now + 3600 }) }), 'Token used before issued')
  t.equal(await refused({ id_token_hint: await hintWith(s, { ...base, sid: undefined }) }), 'Logout failed because query parameter id_token_hint is missing sid claim.')
  t.equal(await refused({ id_token_hint: await hintWith(s, { ...base, sub: undefined }) }), 'Logout failed because query parameter id_token_hint is missing sub claim.')
  t.equal(await refused({ id_token_hint: await hintWith(s, { ...base, aud: ['nobody'] }) }), 'Logout failed because none of the listed audiences is a registered OAuth 2.0 Client.')
  t.equal(
    await refused({ id_token_hint: idToken, client_id: 'other' }),
    'Logout failed because query parameter client_id does not match the audience of query parameter id_token_hint.',
  )
  t.equal(await refused({ state: 'x' }), 'Logout failed because query parameter state is set but id_token_hint is missing.')
  t.equal(await refused({ post_logout_redirect_uri: BYE }, 'POST'), 'Logout failed because query parameter post_logout_redirect_uri is set but id_token_hint is missing.')

  const unknown = errorPage(t, await b.visit(logoutUrl(s, { logout_verifier: 'an-invalid-verifier' })))
  t.same([unknown.error, unknown.description], ['Not Found', 'Unable to locate the requested resource The logout verifier is unknown or has expired.'])
  t.ok((await silently(s, b, 'rp')).code, 'none of these ended the session')

  // An expired hint is fine (it names a past login), as an audience string rather than a list.
  const expired = await hintWith(s, { ...base, aud: 'rp', iat: now - 7200, exp: now - 3600 })
  const ok = await b.visit(logoutUrl(s, { id_token_hint: expired, post_logout_redirect_uri: BYE, state: '1234', client_id: 'rp' }))
  t.ok(ok.location?.startsWith(`${LOGOUT}?logout_challenge=`), String(ok.location))
  // A hint for a session that has ended: straight back to the relying party with its state.
  const ended = await hintWith(s, { ...base, sid: 'a-session-that-ended' })
  const back = await b.visit(logoutUrl(s, { id_token_hint: ended, post_logout_redirect_uri: BYE, state: '1234' }))
  t.same([back.status, back.location], [302, `${BYE}?state=1234`])
})
