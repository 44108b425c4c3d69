/**
 * The review findings on the browser flow (issue 11 hardening): the session cookie cannot be
 * forged from a public sid, and a login or consent challenge completes at most once.
 */
import t, { type Test } from 'tap'
import { adminSdk, Browser, param, RecordingIssuer } from './helpers/oidc-flow.js'
import { granted } from './helpers/oidc.js'
import { basic, call, startTokenServer, type RunningTokenServer } from './helpers/token-server.js'

/** fosite's invalid_request description, which Hydra's admin API puts before each hint. */
const INVALID_REQUEST = 'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.'

const LOGIN = 'https://login.test/login'
const CONSENT = 'https://login.test/consent'
const CB = 'https://app.test/cb'
const STATE = 'state-0123456789'

/** A server with a client `app`; issuance is recorded, or the server's own with `realIssuer`. */
async function server(t: Test, config: Record<string, unknown> = {}, realIssuer = false): Promise<{ s: RunningTokenServer; recorder: RecordingIssuer }> {
  const recorder = new RecordingIssuer()
  const s = await startTokenServer({ config: { urls: { login: LOGIN, consent: CONSENT, error: 'https://login.test/error' }, ...config }, options: realIssuer ? {} : { authorizationIssuer: recorder } })
  t.teardown(() => s.close())
  const r = await call('POST', `${s.adminUrl}/admin/clients`, {
    json: { client_id: 'app', client_secret: 'app-secret-1', redirect_uris: [CB], grant_types: ['authorization_code'], response_types: ['code'], scope: 'openid api' },
  })
  if (r.status !== 201) throw new Error(`client not created: ${JSON.stringify(r.body)}`)
  return { s, recorder }
}

const local = (s: RunningTokenServer) => (u: string): string => `${s.publicUrl}${new URL(u).pathname}${new URL(u).search}`

function authUrl(s: RunningTokenServer): string {
  const u = new URL(`${s.publicUrl}/oauth2/auth`)
  for (const [k, v] of Object.entries({ client_id: 'app', response_type: 'code', redirect_uri: CB, scope: 'openid api', state: STATE })) u.searchParams.set(k, v)
  return u.href
}

async function startLogin(s: RunningTokenServer, b: Browser): Promise<string> {
  const r = await b.visit(authUrl(s))
  if (r.status !== 302 || !r.location?.startsWith(LOGIN)) throw new Error(`not sent to login: ${r.status} ${r.location}`)
  return param(r.location, 'login_challenge')!
}

t.test('the session cookie is signed: a browser that sets it to a known sid has no session', async (t) => {
  const { s } = await server(t)
  const sdk = adminSdk(s.adminUrl)
  const victim = new Browser()
  const loginChallenge = await startLogin(s, victim)
  const { data: lr } = await sdk.getOAuth2LoginRequest({ loginChallenge })
  const sid = lr.session_id!
  const { data: accepted } = await sdk.acceptOAuth2LoginRequest({ loginChallenge, acceptOAuth2LoginRequest: { subject: 'victim', remember: true, remember_for: 3600 } })
  const back = await victim.visit(local(s)(accepted.redirect_to))
  t.equal(back.status, 302)
  const cookie = victim.jar.get('ory_hydra_session')!
  t.ok(cookie, 'remembered: the session cookie is set')
  t.not(cookie, sid, 'the cookie value is not the public sid')
  t.notOk(cookie.split('.').includes('') , 'a value with a signature part')

  // The victim's own browser is recognised.
  const again = await sdk.getOAuth2LoginRequest({ loginChallenge: await startLogin(s, victim) })
  t.same([again.data.skip, again.data.subject], [true, 'victim'])

  // An attacker who knows the sid (it is in every ID token) sets the cookie to it, or to it with a made-up signature.
  for (const forged of [sid, `${sid}.${'A'.repeat(43)}`, `${sid}.`]) {
    const attacker = new Browser()
    attacker.jar.set('ory_hydra_session', forged)
    const { data } = await sdk.getOAuth2LoginRequest({ loginChallenge: await startLogin(s, attacker) })
    t.same([data.skip, data.subject], [false, ''], `no session for cookie ${forged.slice(0, 12)}…`)
  }
})

t.test('secrets.cookie signs the session cookie; a cookie signed by another secret is not a session', async (t) => {
  const { s } = await server(t, { secrets: { cookie: ['cookie-secret-number-one-0001'] } })
  const sdk = adminSdk(s.adminUrl)
  const b = new Browser()
  const loginChallenge = await startLogin(s, b)
  const { data: accepted } = await sdk.acceptOAuth2LoginRequest({ loginChallenge, acceptOAuth2LoginRequest: { subject: 'alice', remember: true } })
  await b.visit(local(s)(accepted.redirect_to))
  const { data } = await sdk.getOAuth2LoginRequest({ loginChallenge: await startLogin(s, b) })
  t.same([data.skip, data.subject], [true, 'alice'])

  const other = await server(t, { secrets: { cookie: ['cookie-secret-number-two-0002'] } })
  const b2 = new Browser()
  b2.jar.set('ory_hydra_session', b.jar.get('ory_hydra_session')!)
  const { data: d2 } = await adminSdk(other.s.adminUrl).getOAuth2LoginRequest({ loginChallenge: await startLogin(other.s, b2) })
  t.equal(d2.skip, false, 'signed under another secret: not a session here')
})

t.test('a challenge decided twice completes once: the first verifier used wins, with its own decision; the rest are refused', async (t) => {
  const { s } = await server(t, {}, true)
  const sdk = adminSdk(s.adminUrl)
  const b = new Browser()
  const loginChallenge = await startLogin(s, b)
  const { data: l1 } = await sdk.acceptOAuth2LoginRequest({ loginChallenge, acceptOAuth2LoginRequest: { subject: 'alice', acr: 'first' } })
  const { data: l2 } = await sdk.acceptOAuth2LoginRequest({ loginChallenge, acceptOAuth2LoginRequest: { subject: 'alice', acr: 'second' } })
  const [r1, r2] = await Promise.all([b.visit(local(s)(l1.redirect_to)), b.visit(local(s)(l2.redirect_to))])
  const winners = [r1, r2].filter((r) => r.location?.startsWith(CONSENT))
  const losers = [r1, r2].filter((r) => !r.location?.startsWith(CONSENT))
  t.equal(winners.length, 1, 'exactly one login verifier leads to consent')
  t.same([param(losers[0]!.location, 'error'), param(losers[0]!.location, 'error_description')], ['access_denied', 'The resource owner or authorization server denied the request. The login verifier has already been used.'])
  const consentChallenge = param(winners[0]!.location, 'consent_challenge')!
  const { data: cr } = await sdk.getOAuth2ConsentRequest({ consentChallenge })
  t.equal(cr.acr, winners[0] === r1 ? 'first' : 'second', 'the consent carries the decision of the verifier that was used')

  const { data: c1 } = await sdk.acceptOAuth2ConsentRequest({ consentChallenge, acceptOAuth2ConsentRequest: { grant_scope: ['openid'] } })
  const { data: c2 } = await sdk.acceptOAuth2ConsentRequest({ consentChallenge, acceptOAuth2ConsentRequest: { grant_scope: ['openid', 'api'] } })
  // The older verifier is used first: it completes with its own decision, the later one is refused.
  const first = await b.visit(local(s)(c1.redirect_to))
  const code = param(first.location, 'code')
  t.ok(code, 'the first consent verifier used issues a code')
  t.equal(param(first.location, 'scope'), 'openid', "the code carries that verifier's decision")
  const second = await b.visit(local(s)(c2.redirect_to))
  t.same([param(second.location, 'error'), param(second.location, 'error_description')], ['access_denied', 'The resource owner or authorization server denied the request. The consent verifier has already been used.'])
  t.equal(param(second.location, 'code'), null)

  const tokens = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'authorization_code', code: code!, redirect_uri: CB }, headers: basic('app', 'app-secret-1') })
  t.equal(tokens.status, 200, JSON.stringify(tokens.body))
  const { data: sessions } = await sdk.listOAuth2ConsentSessions({ subject: 'alice' })
  t.equal(sessions.length, 1, 'one consent session, not two')
  const revoked = await call('DELETE', `${s.adminUrl}/admin/oauth2/auth/sessions/consent?subject=alice&all=true`)
  t.equal(revoked.status, 204)
  const at = await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: tokens.body.access_token } })
  t.same(at.body, { active: false }, 'revoking the consent revoked everything it issued')
})

t.test('http redirect URIs: refused for response_type=code outside development mode, as fosite; https, custom schemes and localhost pass', async (t) => {
  const uris = ['http://app.test/cb', 'https://app.test/cb', 'com.example.app:/cb', 'http://myapp.localhost/cb', 'http://127.0.0.1:8080/cb']
  const attempt = async (s: RunningTokenServer, redirect: string) => {
    const u = new URL(`${s.publicUrl}/oauth2/auth`)
    for (const [k, v] of Object.entries({ client_id: 'mixed', response_type: 'code', redirect_uri: redirect, scope: 'openid', state: STATE })) u.searchParams.set(k, v)
    return new Browser().visit(u.href)
  }
  for (const dev of [false, true]) {
    const { s } = await server(t, { dev })
    // Registration accepts an http redirect URI (Hydra checks it at the authorization endpoint).
    const created = await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: 'mixed', client_secret: 'mixed-secret-1', redirect_uris: uris, grant_types: ['authorization_code', 'implicit'], response_types: ['code', 'id_token'], scope: 'openid' } })
    t.equal(created.status, 201)
    const insecure = await attempt(s, uris[0]!)
    if (dev) {
      t.ok(insecure.location?.startsWith(LOGIN), 'development mode: any redirect URI')
    } else {
      t.equal(insecure.status, 303)
      t.ok(insecure.location?.startsWith('http://app.test/cb?'), 'the error goes to the (registered) redirect URI')
      t.same([param(insecure.location, 'error'), param(insecure.location, 'error_description'), param(insecure.location, 'state')], [
        'invalid_request',
        "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed. Redirect URL is using an insecure protocol, http is only allowed for hosts with suffix 'localhost', for example: http://myapp.localhost/.",
        STATE,
      ])
    }
    for (const ok of uris.slice(1)) t.ok((await attempt(s, ok)).location?.startsWith(LOGIN), `${ok} (dev: ${dev})`)
  }
})

t.test('urls.self.public: request_url and the fallback pages are on the public URL; the fallback pages are served, escaped', async (t) => {
  const recorder = new RecordingIssuer()
  const s = await startTokenServer({ config: { urls: { self: { issuer: 'https://issuer.test/', public: 'https://public.test/hydra/' } } }, options: { authorizationIssuer: recorder } })
  t.teardown(() => s.close())
  await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: 'app', client_secret: 'app-secret-1', redirect_uris: [CB], grant_types: ['authorization_code'], response_types: ['code'], scope: 'openid' } })
  const b = new Browser()
  const r = await b.visit(authUrl(s).replace('scope=openid+api', 'scope=openid'))
  t.equal(r.status, 302)
  t.ok(r.location?.startsWith('https://public.test/hydra/oauth2/fallbacks/login?login_challenge='), String(r.location))
  const { data } = await adminSdk(s.adminUrl).getOAuth2LoginRequest({ loginChallenge: param(r.location, 'login_challenge')! })
  t.ok(data.request_url.startsWith('https://public.test/hydra/oauth2/auth?'), data.request_url)
  const unknown = await b.visit(`${s.publicUrl}/oauth2/auth?client_id=nobody`)
  t.ok(unknown.location?.startsWith('https://public.test/hydra/oauth2/fallbacks/error?'), String(unknown.location))

  for (const [path, key] of [['login', 'urls.login'], ['consent', 'urls.consent']] as const) {
    const page = await b.visit(`${s.publicUrl}/oauth2/fallbacks/${path}?${path}_challenge=x`)
    t.equal(page.status, 200)
    t.match(page.body, `configuration key <code>${key}</code> is not set`)
  }
  const error = await call('GET', `${s.publicUrl}/oauth2/fallbacks/error?error=invalid_client&error_description=${encodeURIComponent('<script>alert(1)</script> & "more"')}`)
  t.equal(error.status, 500)
  t.match(String(error.headers['content-type']), /^text\/html/)
  t.match(error.body, '<li>Error: invalid_client</li>')
  t.match(error.body, '<li>Description: &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;</li>')
  t.notMatch(error.body, '<script>')
  t.match(String(error.headers['content-security-policy']), "default-src 'none'")
})

t.test('id_token_hint: a pairwise subject matches its session; a login as someone else than the hint names is login_required', async (t) => {
  const oidc = { subject_identifiers: { supported_types: ['public', 'pairwise'], pairwise: { salt: 'a-pairwise-salt-0123' } } }
  const { s } = await server(t, { oidc }, true)
  const created = await call('POST', `${s.adminUrl}/admin/clients`, {
    json: { client_id: 'pw', client_secret: 'pw-secret-0001', subject_type: 'pairwise', redirect_uris: [CB], grant_types: ['authorization_code', 'implicit'], response_types: ['code', 'id_token'], scope: 'openid' },
  })
  t.equal(created.status, 201)
  const idTokenFor = async (clientId: string, subject: string): Promise<string> => {
    const g = granted(clientId, { subject, granted_scope: ['openid'] }, { response_types: ['id_token'], redirect_uri: CB, scope: ['openid'] })
    return (await s.server.context.authorizationIssuer.issue(g)).id_token!
  }
  const visit = (b: Browser, clientId: string, hint: string) => {
    const u = new URL(`${s.publicUrl}/oauth2/auth`)
    for (const [k, v] of Object.entries({ client_id: clientId, response_type: 'code', redirect_uri: CB, scope: 'openid', state: STATE, id_token_hint: hint })) u.searchParams.set(k, v)
    return b.visit(u.href)
  }
  const sdk = adminSdk(s.adminUrl)

  // alice has a remembered session; her ID token for the pairwise client carries a pairwise sub.
  const b = new Browser()
  const first = await visit(b, 'pw', await idTokenFor('pw', 'alice'))
  t.ok(first.location?.startsWith(LOGIN), String(first.location))
  const { data: a1 } = await sdk.acceptOAuth2LoginRequest({ loginChallenge: param(first.location, 'login_challenge')!, acceptOAuth2LoginRequest: { subject: 'alice', remember: true } })
  t.ok((await b.visit(local(s)(a1.redirect_to))).location?.startsWith(CONSENT), 'the hint (pairwise) matches the login')
  const again = await visit(b, 'pw', await idTokenFor('pw', 'alice'))
  t.ok(again.location?.startsWith(LOGIN), `a pairwise hint matches the session: ${again.location}`)
  const { data: lr } = await sdk.getOAuth2LoginRequest({ loginChallenge: param(again.location, 'login_challenge')! })
  t.same([lr.skip, lr.subject], [true, 'alice'])
  const other = await visit(b, 'pw', await idTokenFor('pw', 'mallory'))
  t.same([param(other.location, 'error'), param(other.location, 'error_description')], ['login_required', 'The Authorization Server requires End-User authentication. Request failed because subject claim from id_token_hint does not match subject from authentication session.'])

  // No session: the hint names alice, the login app logs in bob.
  const fresh = new Browser()
  const start = await visit(fresh, 'app', await idTokenFor('app', 'alice'))
  const { data: a2 } = await sdk.acceptOAuth2LoginRequest({ loginChallenge: param(start.location, 'login_challenge')!, acceptOAuth2LoginRequest: { subject: 'bob' } })
  const refused = await fresh.visit(local(s)(a2.redirect_to))
  t.same([param(refused.location, 'error'), param(refused.location, 'error_description'), param(refused.location, 'state')], [
    'login_required',
    "The Authorization Server requires End-User authentication. Failed to validate OpenID Connect request because the subject from provided id token from id_token_hint does not match the current session's subject.",
    STATE,
  ])
})

t.test("Hydra's answers: expired requests are 401, consent_request_id, revoking by it, oidc_context without empty fields", async (t) => {
  const { s } = await server(t, {}, true)
  const sdk = adminSdk(s.adminUrl)
  const b = new Browser()
  const u = new URL(authUrl(s))
  u.searchParams.set('display', 'popup')
  u.searchParams.set('ui_locales', 'de en')
  const r = await b.visit(u.href)
  const loginChallenge = param(r.location, 'login_challenge')!
  const { data: lr } = await sdk.getOAuth2LoginRequest({ loginChallenge })
  t.same(lr.oidc_context, { display: 'popup', ui_locales: ['de', 'en'] }, 'display forwarded; empty fields omitted')

  const { data: la } = await sdk.acceptOAuth2LoginRequest({ loginChallenge, acceptOAuth2LoginRequest: { subject: 'alice' } })
  const consentChallenge = param((await b.visit(local(s)(la.redirect_to))).location, 'consent_challenge')!
  // consent_request_id is Hydra 2.3's (the SDK pinned here predates it): read as plain JSON.
  const cr = (await call('GET', `${s.adminUrl}/admin/oauth2/auth/requests/consent?consent_challenge=${consentChallenge}`)).body
  t.type(cr.consent_request_id, 'string')
  t.not(cr.consent_request_id, '')
  const { data: ca } = await sdk.acceptOAuth2ConsentRequest({ consentChallenge, acceptOAuth2ConsentRequest: { grant_scope: ['openid'] } })
  const code = param((await b.visit(local(s)(ca.redirect_to))).location, 'code')!
  const tokens = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'authorization_code', code, redirect_uri: CB }, headers: basic('app', 'app-secret-1') })
  t.equal(tokens.status, 200)
  const sessions = (await call('GET', `${s.adminUrl}/admin/oauth2/auth/sessions/consent?subject=alice`)).body
  t.equal(sessions[0]?.consent_request_id, cr.consent_request_id, 'the consent session names the request it came from')
  t.equal(sessions[0]?.consent_request?.consent_request_id, cr.consent_request_id)

  for (const q of ['', 'subject=alice', 'subject=alice&client=app&all=true', `consent_request_id=${cr.consent_request_id}&subject=alice`, 'client=app&all=true']) {
    const bad = await call('DELETE', `${s.adminUrl}/admin/oauth2/auth/sessions/consent?${q}`)
    t.same([bad.status, bad.body.error, bad.body.error_description], [400, 'invalid_request', `${INVALID_REQUEST} Invalid combination of query parameters.`], q)
  }
  const byId = await call('DELETE', `${s.adminUrl}/admin/oauth2/auth/sessions/consent?consent_request_id=${encodeURIComponent(cr.consent_request_id)}`)
  t.equal(byId.status, 204)
  t.same((await sdk.listOAuth2ConsentSessions({ subject: 'alice' })).data, [], 'revoked by consent_request_id')
  t.same((await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: tokens.body.access_token } })).body, { active: false }, 'with its tokens')

  // A request past ttl.login_consent_request (its authorization request is older than the ttl).
  const old = param((await b.visit(authUrl(s))).location, 'login_challenge')!
  const { data: oa } = await sdk.acceptOAuth2LoginRequest({ loginChallenge: old, acceptOAuth2LoginRequest: { subject: 'alice' } })
  const records = s.server.context.store.oidc
  const rec = (await records.find('login_request', old, 0))!
  const flow = rec.payload as { request: { requested_at: number } }
  await records.upsert({ ...rec, payload: { ...rec.payload, request: { ...flow.request, requested_at: flow.request.requested_at - 31 * 60 } } })
  const expired = await call('GET', `${s.adminUrl}/admin/oauth2/auth/requests/login?login_challenge=${old}`)
  t.same([expired.status, expired.body], [401, { error: 'request_unauthorized', error_description: 'The request could not be authorized. The login request has expired, please try again.' }])
  const late = await b.visit(local(s)(oa.redirect_to))
  t.same([param(late.location, 'error'), param(late.location, 'error_description')], ['request_unauthorized', 'The request could not be authorized. The login request has expired, please try again.'])
})
