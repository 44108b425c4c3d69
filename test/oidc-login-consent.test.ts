/**
 * Hydra's login/consent protocol end to end on the flow's side: a browser (cookies, no redirects
 * followed) and a login/consent app using the official SDK against the admin API, on every
 * store. Issuance is a recording issuer here (what the flow hands over is what is checked).
 */
import type { AuthorizationIssuer } from '../src/token-server/oidc/authorization.js'
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import type { Store } from '../src/token-server/store/types.js'
import { adminSdk, Browser, param, RecordingIssuer } from './helpers/oidc-flow.js'
import { call, forEachStore, startTokenServer, type RunningTokenServer } from './helpers/token-server.js'

/** fosite's invalid_request description, which Hydra's admin API puts before each hint. */
const INVALID_REQUEST = 'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.'

const LOGIN = 'https://login.test/login'
const CONSENT = 'https://login.test/consent'
const CB = 'https://app.test/cb'
const STATE = 'state-0123456789'
const CONFIG = { urls: { login: LOGIN, consent: CONSENT, error: 'https://login.test/error' } }
const recorder = new RecordingIssuer()

/** The issuer (urls.self.issuer) is not where the test server listens (port 0): browse there instead. */
function localTo(s: RunningTokenServer): (u: string) => string {
  return (u) => `${s.publicUrl}${new URL(u).pathname}${new URL(u).search}`
}

async function registerClient(s: RunningTokenServer): Promise<void> {
  const r = await call('POST', `${s.adminUrl}/admin/clients`, {
    json: { client_id: 'app', client_secret: 'app-secret-1', redirect_uris: [CB], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], scope: 'openid offline api', audience: ['https://api.test'] },
  })
  if (r.status !== 201) throw new Error(`client not created: ${JSON.stringify(r.body)}`)
}

function authUrl(s: RunningTokenServer, extra: Record<string, string> = {}): string {
  const u = new URL(`${s.publicUrl}/oauth2/auth`)
  for (const [k, v] of Object.entries({ client_id: 'app', response_type: 'code', redirect_uri: CB, scope: 'openid api', state: STATE, ...extra })) u.searchParams.set(k, v)
  return u.href
}

/** The SDK throws on non-2xx: its status and body, for asserting. */
async function failure(p: Promise<unknown>): Promise<{ status: number; data: any }> {
  try {
    await p
  } catch (err) {
    const res = (err as { response?: { status: number; data: unknown } }).response
    if (res !== undefined) return { status: res.status, data: res.data }
    throw err
  }
  throw new Error('expected the call to fail')
}

/** Browser → login app: the login challenge the browser was sent to. */
async function start(t: Test, s: RunningTokenServer, b: Browser, extra: Record<string, string> = {}): Promise<string> {
  const r = await b.visit(authUrl(s, extra))
  t.equal(r.status, 302, 'to the login app')
  t.ok(r.location?.startsWith(`${LOGIN}?`))
  return param(r.location, 'login_challenge')!
}

/** Login app accepts, browser follows: the consent challenge. */
async function login(t: Test, s: RunningTokenServer, b: Browser, challenge: string, accept: Record<string, unknown> = { subject: 'alice', remember: true, remember_for: 3600 }): Promise<string> {
  const { data } = await adminSdk(s.adminUrl).acceptOAuth2LoginRequest({ loginChallenge: challenge, acceptOAuth2LoginRequest: accept as never })
  t.ok(param(data.redirect_to, 'login_verifier'), 'redirect_to carries a login_verifier')
  const r = await b.visit(localTo(s)(data.redirect_to))
  t.equal(r.status, 302, 'to the consent app')
  t.ok(r.location?.startsWith(`${CONSENT}?`), String(r.location))
  return param(r.location, 'consent_challenge')!
}

/** Consent app accepts, browser follows: where the client is sent. */
async function consent(s: RunningTokenServer, b: Browser, challenge: string, accept: Record<string, unknown> = { grant_scope: ['openid', 'api'], remember: true }): Promise<string | undefined> {
  const { data } = await adminSdk(s.adminUrl).acceptOAuth2ConsentRequest({ consentChallenge: challenge, acceptOAuth2ConsentRequest: accept as never })
  return (await b.visit(localTo(s)(data.redirect_to))).location
}

forEachStore(
  t,
  'the whole flow: login, consent, issuance; handled requests answer 410; verifiers are single-use',
  async (t, s, store) => {
    await registerClient(s)
    const sdk = adminSdk(s.adminUrl)
    const b = new Browser()
    const loginChallenge = await start(t, s, b, { audience: 'https://api.test', nonce: 'nonce-0123456789', login_hint: 'alice@example.test' })

    const { data: lr } = await sdk.getOAuth2LoginRequest({ loginChallenge })
    t.equal(lr.challenge, loginChallenge)
    t.same([lr.skip, lr.subject, lr.requested_scope, lr.requested_access_token_audience], [false, '', ['openid', 'api'], ['https://api.test']])
    t.equal(lr.client.client_id, 'app')
    t.notOk('client_secret' in lr.client, 'no secret in the client JSON')
    t.ok(lr.request_url.startsWith('http://127.0.0.1:4444/oauth2/auth?'), 'request_url: on the issuer')
    t.equal(new URL(lr.request_url).searchParams.get('nonce'), 'nonce-0123456789')
    t.same(lr.oidc_context, { login_hint: 'alice@example.test' }, 'empty fields omitted, as Hydra')
    t.type(lr.session_id, 'string')

    // The login app accepts; its redirect_to is the request URL plus a verifier.
    const { data: accepted } = await sdk.acceptOAuth2LoginRequest({ loginChallenge, acceptOAuth2LoginRequest: { subject: 'alice', remember: true, remember_for: 3600, acr: '1', amr: ['pwd'], context: { source: 'test' } } })
    const loginVerifier = param(accepted.redirect_to, 'login_verifier')!
    const local = localTo(s)
    const back = await b.visit(local(accepted.redirect_to))
    t.equal(back.status, 302)
    const consentChallenge = param(back.location, 'consent_challenge')!
    t.ok(b.jar.has('ory_hydra_session'), 'remembered: the authentication session cookie is set')
    t.match(back.setCookies.find((c) => c.startsWith('ory_hydra_session=')), /Max-Age=3600; Path=\/; HttpOnly; Secure; SameSite=Lax/)

    // The login request is handled now: 410 with where the browser went.
    const gone = await failure(sdk.getOAuth2LoginRequest({ loginChallenge }))
    t.equal(gone.status, 410)
    t.equal(gone.data.redirect_to, lr.request_url)
    // Its verifier was used once: a replay is refused at the client.
    const replay = await b.visit(local(accepted.redirect_to))
    t.equal(replay.status, 303)
    t.same([param(replay.location, 'error'), param(replay.location, 'error_description'), param(replay.location, 'state')], ['access_denied', 'The resource owner or authorization server denied the request. The login verifier has already been used.', STATE])
    t.equal(loginVerifier.length, 43)

    const { data: cr } = await sdk.getOAuth2ConsentRequest({ consentChallenge })
    t.same([cr.challenge, cr.subject, cr.skip, cr.login_challenge, cr.acr, cr.amr], [consentChallenge, 'alice', false, loginChallenge, '1', ['pwd']])
    t.same(cr.requested_scope, ['openid', 'api'])
    t.same(cr.context, { source: 'test' })
    t.equal(cr.login_session_id, lr.session_id)
    t.equal(cr.client?.client_id, 'app')

    const { data: ca } = await sdk.acceptOAuth2ConsentRequest({
      consentChallenge,
      acceptOAuth2ConsentRequest: { grant_scope: ['openid', 'api'], grant_access_token_audience: ['https://api.test'], remember: true, remember_for: 0, session: { id_token: { email: 'alice@example.test' }, access_token: { team: 'a' } } },
    })
    const done = await b.visit(local(ca.redirect_to))
    t.equal(done.status, 303, 'delivered to the client')
    t.ok(done.location?.startsWith(`${CB}?`))
    t.equal(param(done.location, 'state'), STATE)
    const code = param(done.location, 'code')!
    t.match(code, /^code-for-/)
    t.equal(param(done.location, 'scope'), 'openid api')
    t.equal(param(done.location, 'iss'), null, 'no iss parameter (Hydra sends none)')
    const goneConsent = await failure(sdk.getOAuth2ConsentRequest({ consentChallenge }))
    t.equal(goneConsent.status, 410)
    // A decision on a used request: Hydra 2.1's 409 Conflict with its hint, not the GET's 410.
    for (const [kind, attempt] of [
      ['login', sdk.acceptOAuth2LoginRequest({ loginChallenge, acceptOAuth2LoginRequest: { subject: 'alice' } })],
      ['consent', sdk.rejectOAuth2ConsentRequest({ consentChallenge, rejectOAuth2Request: {} })],
    ] as const) {
      const used = await failure(attempt)
      t.same([used.status, used.data], [409, { error: 'Conflict', error_description: `Unable to process the requested resource because of conflict in the current state The ${kind} request was already used and can no longer be changed.` }], `${kind}: 409`)
    }

    // What the issuer got.
    const granted = recorder.granted.at(-1)!
    t.same([granted.subject, granted.sid, granted.acr, granted.amr, granted.consent_challenge], ['alice', lr.session_id, '1', ['pwd'], consentChallenge])
    t.same([granted.granted_scope, granted.granted_audience], [['openid', 'api'], ['https://api.test']])
    t.same(granted.session, { id_token: { email: 'alice@example.test' }, access_token: { team: 'a' } })
    t.equal(granted.request.nonce, 'nonce-0123456789')
    t.equal(granted.request.redirect_uri, CB)
    t.equal(code, `code-for-${granted.grant_id}`)

    // The consent is listed for the subject, with Hydra's shape.
    const { data: list } = await sdk.listOAuth2ConsentSessions({ subject: 'alice' })
    t.equal(list.length, 1)
    t.same([list[0]!.grant_scope, list[0]!.remember, list[0]!.remember_for, list[0]!.consent_request?.client?.client_id], [['openid', 'api'], true, 0, 'app'])
    t.same((await sdk.listOAuth2ConsentSessions({ subject: 'alice', loginSessionId: lr.session_id })).data.length, 1)
    t.same((await sdk.listOAuth2ConsentSessions({ subject: 'alice', loginSessionId: 'other' })).data, [])
    t.same((await sdk.listOAuth2ConsentSessions({ subject: 'bob' })).data, [])

    // A token of that grant (as issuance would store it) dies with the consent.
    const signature = randomBytes(32).toString('hex')
    await store.insertToken({ signature_hash: signature, grant_id: granted.grant_id, token_use: 'access_token', client_id: 'app', subject: 'alice', scope: ['api'], audience: [], strategy: 'opaque', issued_at: 0, expires_at: Math.floor(Date.now() / 1000) + 3600, ext: {} })
    await sdk.revokeOAuth2ConsentSessions({ subject: 'alice', client: 'app' })
    t.equal(await store.getToken(signature), undefined, 'the grant\'s token is revoked')
    t.same((await sdk.listOAuth2ConsentSessions({ subject: 'alice' })).data, [])
    t.equal(await store.oidc.find('consent_session', consentChallenge, 0), undefined)
  },
  CONFIG,
  { authorizationIssuer: recorder },
)

async function memoryServer(t: Test, opts: { issuer?: AuthorizationIssuer } = {}): Promise<RunningTokenServer> {
  const s = await startTokenServer({ config: CONFIG, options: { authorizationIssuer: opts.issuer ?? new RecordingIssuer() } })
  t.teardown(() => s.close())
  await registerClient(s)
  return s
}

t.test('a remembered login and consent: skip is true; another subject must log in again; prompt=none passes', async (t) => {
  const s = await memoryServer(t)
  const sdk = adminSdk(s.adminUrl)
  const b = new Browser()
  const first = await login(t, s, b, await start(t, s, b))
  t.match(await consent(s, b, first), /^https:\/\/app\.test\/cb\?code=/)

  const second = await start(t, s, b, { prompt: 'none' })
  const { data: lr } = await sdk.getOAuth2LoginRequest({ loginChallenge: second })
  t.same([lr.skip, lr.subject], [true, 'alice'], 'the session applies')
  const { data: other } = await sdk.acceptOAuth2LoginRequest({ loginChallenge: second, acceptOAuth2LoginRequest: { subject: 'mallory' } })
  t.equal(param(other.redirect_to, 'prompt'), 'login', 'another subject: back with prompt=login')
  t.equal(param(other.redirect_to, 'login_verifier'), null)
  const c2 = await login(t, s, b, second, { subject: 'alice' })
  const { data: cr } = await sdk.getOAuth2ConsentRequest({ consentChallenge: c2 })
  t.equal(cr.skip, true, 'the remembered consent covers the scopes')
  t.match(await consent(s, b, c2), /^https:\/\/app\.test\/cb\?code=/)

  // More scope than remembered: asked again; with prompt=none that is consent_required.
  const wider = await start(t, s, b, { prompt: 'none', scope: 'openid api offline' })
  const { data: wa } = await sdk.acceptOAuth2LoginRequest({ loginChallenge: wider, acceptOAuth2LoginRequest: { subject: 'alice' } })
  const refused = await b.visit(localTo(s)(wa.redirect_to))
  t.equal(refused.status, 303)
  t.same([param(refused.location, 'error'), param(refused.location, 'error_description')], ['consent_required', "The Authorization Server requires End-User consent. Prompt 'none' was requested, but no previous consent was found."])

  // prompt=login ignores the session.
  const forced = await start(t, s, b, { prompt: 'login' })
  t.equal((await sdk.getOAuth2LoginRequest({ loginChallenge: forced })).data.skip, false)

  // Forgetting the subject's login sessions: the next request asks for a login again.
  await sdk.revokeOAuth2LoginSessions({ subject: 'alice' })
  const after = await b.visit(authUrl(s, { prompt: 'none' }))
  t.equal(param(after.location, 'error'), 'login_required')
  const fresh = await start(t, s, b)
  t.equal((await sdk.getOAuth2LoginRequest({ loginChallenge: fresh })).data.skip, false)
  const missing = await failure(sdk.revokeOAuth2LoginSessions({}))
  t.same([missing.status, missing.data.error], [400, 'invalid_request'])
})

t.test('a verifier completed in another browser is refused (CSRF cookie), and not burned', async (t) => {
  const s = await memoryServer(t)
  const sdk = adminSdk(s.adminUrl)
  const victim = new Browser()
  const challenge = await start(t, s, victim)
  const { data } = await sdk.acceptOAuth2LoginRequest({ loginChallenge: challenge, acceptOAuth2LoginRequest: { subject: 'alice' } })
  const url = localTo(s)(data.redirect_to)

  const attacker = new Browser()
  const noCookie = await attacker.visit(url)
  t.equal(noCookie.status, 303)
  t.same([param(noCookie.location, 'error'), param(noCookie.location, 'error_description')], ['request_forbidden', 'The request is not allowed. No CSRF value available in the session cookie.'])
  await start(t, s, attacker) // the attacker's own flow: a CSRF cookie of the same name, another value
  const otherCookie = await attacker.visit(url)
  t.same([param(otherCookie.location, 'error'), param(otherCookie.location, 'error_description')], ['request_forbidden', 'The request is not allowed. The CSRF value from the token does not match the CSRF value from the data store.'])

  const ok = await victim.visit(url)
  t.equal(ok.status, 302, 'the right browser still completes it')
  t.ok(ok.location?.startsWith(`${CONSENT}?`))

  // The same for consent.
  const consentChallenge = param(ok.location, 'consent_challenge')!
  const { data: ca } = await sdk.acceptOAuth2ConsentRequest({ consentChallenge, acceptOAuth2ConsentRequest: { grant_scope: ['openid'] } })
  const stolen = await new Browser().visit(localTo(s)(ca.redirect_to))
  t.equal(param(stolen.location, 'error'), 'request_forbidden')
  const done = await victim.visit(localTo(s)(ca.redirect_to))
  t.ok(param(done.location, 'code'))
  // A verifier of another client's flow is refused.
  const wrongClient = new URL(localTo(s)(ca.redirect_to))
  wrongClient.searchParams.set('client_id', 'nobody')
  t.equal(param((await victim.visit(wrongClient.href)).location, 'error'), 'invalid_client')
})

t.test('login and consent rejected: the client gets the error at its redirect URI', async (t) => {
  const s = await memoryServer(t)
  const sdk = adminSdk(s.adminUrl)
  const b = new Browser()
  const c1 = await start(t, s, b)
  const { data: r1 } = await sdk.rejectOAuth2LoginRequest({ loginChallenge: c1, rejectOAuth2Request: { error: 'access_denied', error_description: 'The resource owner denied the request', status_code: 403 } })
  const denied = await b.visit(localTo(s)(r1.redirect_to))
  t.equal(denied.status, 303)
  t.same([param(denied.location, 'error'), param(denied.location, 'error_description'), param(denied.location, 'state')], ['access_denied', 'The resource owner denied the request', STATE])
  t.equal((await failure(sdk.getOAuth2LoginRequest({ loginChallenge: c1 }))).status, 410, 'a rejected request is handled too')

  const c2 = await start(t, s, b)
  const { data: r2 } = await sdk.rejectOAuth2LoginRequest({ loginChallenge: c2, rejectOAuth2Request: {} })
  t.equal(param((await b.visit(localTo(s)(r2.redirect_to))).location, 'error'), 'login request denied', "Hydra's default name")

  const c3 = await login(t, s, b, await start(t, s, b))
  const { data: r3 } = await sdk.rejectOAuth2ConsentRequest({ consentChallenge: c3, rejectOAuth2Request: { error: 'access_denied', error_hint: 'The user said no.' } })
  const no = await b.visit(localTo(s)(r3.redirect_to))
  t.same([param(no.location, 'error'), param(no.location, 'error_description')], ['access_denied', 'The user said no.'])
})

t.test('admin API errors: missing, unknown, expired challenges; bad bodies', async (t) => {
  const s = await memoryServer(t)
  const sdk = adminSdk(s.adminUrl)
  const b = new Browser()
  const missing = await call('GET', `${s.adminUrl}/admin/oauth2/auth/requests/login`)
  t.same([missing.status, missing.body], [400, { error: 'invalid_request', error_description: `${INVALID_REQUEST} Query parameter 'challenge' is not defined but should have been.` }])
  const unknown = await failure(sdk.getOAuth2LoginRequest({ loginChallenge: 'nope' }))
  t.same([unknown.status, unknown.data.error], [404, 'Not Found'])
  const unknownConsent = await failure(sdk.acceptOAuth2ConsentRequest({ consentChallenge: 'nope', acceptOAuth2ConsentRequest: {} }))
  t.equal(unknownConsent.status, 404)

  const challenge = await start(t, s, b)
  const noSubject = await failure(sdk.acceptOAuth2LoginRequest({ loginChallenge: challenge, acceptOAuth2LoginRequest: { subject: '' } }))
  t.same([noSubject.status, noSubject.data.error_description], [400, `${INVALID_REQUEST} Field 'subject' must not be empty.`])
  const badBody = await call('PUT', `${s.adminUrl}/oauth2/auth/requests/login/accept?login_challenge=${challenge}`, { json: { subject: 'a', remember_for: -1 } })
  t.same([badBody.status, badBody.body.error], [400, 'invalid_request'], 'Hydra 1.x paths (no /admin) work too')

  // Expire the stored request (as ttl.login_consent_request would): 404, and its verifier is no good.
  const { data } = await sdk.acceptOAuth2LoginRequest({ loginChallenge: challenge, acceptOAuth2LoginRequest: { subject: 'alice' } })
  const records = s.server.context.store.oidc
  const rec = (await records.find('login_request', challenge, 0))!
  await records.upsert({ ...rec, expires_at: Math.floor(Date.now() / 1000) - 1 })
  t.equal((await failure(sdk.getOAuth2LoginRequest({ loginChallenge: challenge }))).status, 404)
  const late = await b.visit(localTo(s)(data.redirect_to))
  t.same([param(late.location, 'error'), param(late.location, 'error_description')], ['access_denied', 'The resource owner or authorization server denied the request. The login verifier has already been used, has not been granted, or is invalid.'])
  const invalid = await failure(sdk.revokeOAuth2ConsentSessions({ subject: 'alice' }))
  t.same([invalid.status, invalid.data.error_description], [400, `${INVALID_REQUEST} Invalid combination of query parameters.`])
})

t.test('a login not remembered: no session cookie, and an earlier session of the browser is forgotten', async (t) => {
  const s = await memoryServer(t)
  const b = new Browser()
  await login(t, s, b, await start(t, s, b))
  t.ok(b.jar.has('ory_hydra_session'))
  const c = await start(t, s, b, { prompt: 'login' })
  const sdk = adminSdk(s.adminUrl)
  const { data } = await sdk.acceptOAuth2LoginRequest({ loginChallenge: c, acceptOAuth2LoginRequest: { subject: 'bob', remember: false } })
  const r = await b.visit(localTo(s)(data.redirect_to))
  t.equal(r.status, 302)
  t.notOk(b.jar.has('ory_hydra_session'), 'cookie cleared')
  t.equal(param((await b.visit(authUrl(s, { prompt: 'none' }))).location, 'error'), 'login_required')
})

t.test('an issuer that fails: the end of the flow is a server_error at the client, not a hang or a stack', async (t) => {
  const failing: AuthorizationIssuer = {
    issue: async () => {
      throw new Error('disk on fire at /srv/secret/path')
    },
  }
  const s = await memoryServer(t, { issuer: failing })
  const b = new Browser()
  const c = await login(t, s, b, await start(t, s, b))
  const r = await consent(s, b, c)
  t.same([param(r, 'error'), param(r, 'state')], ['server_error', STATE])
  t.notMatch(r ?? '', /disk on fire|secret/, 'nothing of the failure reaches the client')
})

t.test('id_token_hint: must be our ID token; its subject must be the session\'s', async (t) => {
  const { SignJWT } = await import('jose')
  const { ID_TOKEN_SET } = await import('../src/token-server/keys.js')
  const s = await memoryServer(t)
  const sdk = adminSdk(s.adminUrl)
  const b = new Browser()
  await login(t, s, b, await start(t, s, b))
  const key = await s.server.context.keys.signingKey(ID_TOKEN_SET, 'RS256')
  const hint = async (sub: string): Promise<string> =>
    new SignJWT({ sub }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).setIssuedAt(0).setExpirationTime(1).sign(key.key)

  const mine = await start(t, s, b, { id_token_hint: await hint('alice') })
  const { data: lr } = await sdk.getOAuth2LoginRequest({ loginChallenge: mine })
  t.equal(lr.skip, true, 'an expired hint for the session\'s subject is fine')
  t.match(lr.oidc_context?.id_token_hint_claims, { sub: 'alice' })

  const other = await b.visit(authUrl(s, { id_token_hint: await hint('bob') }))
  t.same([param(other.location, 'error'), param(other.location, 'error_description')], ['login_required', 'The Authorization Server requires End-User authentication. Request failed because subject claim from id_token_hint does not match subject from authentication session.'])
  const forged = await b.visit(authUrl(s, { id_token_hint: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.' }))
  t.equal(param(forged.location, 'error'), 'invalid_request')
})

t.test('logout requests (admin): read, accept → the logout endpoint with a verifier, reject → 204', async (t) => {
  const s = await memoryServer(t)
  const sdk = adminSdk(s.adminUrl)
  const now = Math.floor(Date.now() / 1000)
  // As the logout endpoint (/oauth2/sessions/logout) records an RP-initiated request.
  await s.server.context.store.oidc.upsert({
    model: 'logout_request',
    id: 'logout-challenge-1',
    payload: { subject: 'alice', sid: 'sid-1', request_url: 'http://127.0.0.1:4444/oauth2/sessions/logout?state=x', rp_initiated: true, client_id: 'app', post_logout_redirect_uri: 'https://app.test/bye', requested_at: now },
    expires_at: now + 600,
    subject: 'alice',
    sid: 'sid-1',
    client_id: 'app',
  })
  const { data } = await sdk.getOAuth2LogoutRequest({ logoutChallenge: 'logout-challenge-1' })
  t.match(data, { challenge: 'logout-challenge-1', subject: 'alice', sid: 'sid-1', rp_initiated: true, request_url: 'http://127.0.0.1:4444/oauth2/sessions/logout?state=x', client: { client_id: 'app' } })
  const { data: accepted } = await sdk.acceptOAuth2LogoutRequest({ logoutChallenge: 'logout-challenge-1' })
  t.match(accepted.redirect_to, /^http:\/\/127\.0\.0\.1:4444\/oauth2\/sessions\/logout\?logout_verifier=[A-Za-z0-9_-]{43}$/)
  const verifier = param(accepted.redirect_to, 'logout_verifier')!
  t.match(await s.server.context.store.oidc.find('verifier', verifier, now), { payload: { kind: 'logout', challenge: 'logout-challenge-1' }, sid: 'sid-1' })
  const rejected = await sdk.rejectOAuth2LogoutRequest({ logoutChallenge: 'logout-challenge-1' })
  t.equal(rejected.status, 204)
  const unknown = await failure(sdk.getOAuth2LogoutRequest({ logoutChallenge: 'nope' }))
  t.equal(unknown.status, 404)
  const missing = await call('PUT', `${s.adminUrl}/admin/oauth2/auth/requests/logout/accept`)
  t.same([missing.status, missing.body.error], [400, 'invalid_request'])
})

t.test("consent sessions: one whose remember_for ran out is not listed (Hydra); a JSON null accept body is an empty one", async (t) => {
  const s = await memoryServer(t)
  const sdk = adminSdk(s.adminUrl)
  const b = new Browser()
  const c = await login(t, s, b, await start(t, s, b))
  t.match(await consent(s, b, c, { grant_scope: ['openid'], remember: true, remember_for: 3600 }), /^https:\/\/app\.test\/cb\?code=/)
  t.equal((await sdk.listOAuth2ConsentSessions({ subject: 'alice' })).data.length, 1, 'listed while remembered')

  // Move the remembered consent's request two hours back: its hour is over.
  const records = s.server.context.store.oidc
  const now = Math.floor(Date.now() / 1000)
  for (const r of await records.findBy('consent_session', { subject: 'alice' }, now)) {
    const p = r.payload as { consent: { request: { requested_at: number } } }
    await records.upsert({ ...r, payload: { ...p, consent: { ...p.consent, request: { ...p.consent.request, requested_at: p.consent.request.requested_at - 7200 } } } })
  }
  t.same((await sdk.listOAuth2ConsentSessions({ subject: 'alice' })).data, [], 'not listed once remember_for has passed')

  // Go's decoder reads JSON null into a zero-valued struct: Hydra accepts it as no fields.
  const c2 = await login(t, s, b, await start(t, s, b, { prompt: 'consent' }))
  const accepted = await call('PUT', `${s.adminUrl}/admin/oauth2/auth/requests/consent/accept?consent_challenge=${encodeURIComponent(c2)}`, { body: 'null', headers: { 'content-type': 'application/json' } })
  t.equal(accepted.status, 200, JSON.stringify(accepted.body))
  t.match(accepted.body.redirect_to, /consent_verifier=/)
  const loginNull = await call('PUT', `${s.adminUrl}/admin/oauth2/auth/requests/login/accept?login_challenge=${encodeURIComponent(await start(t, s, new Browser()))}`, { body: 'null', headers: { 'content-type': 'application/json' } })
  t.same([loginNull.status, loginNull.body.error_description], [400, `${INVALID_REQUEST} Field 'subject' must not be empty.`], 'login accept still needs its subject')
})
