/**
 * The built-in login app over HTTP, against a test double of Hydra's admin API that records what
 * the app sends: skip, wrong password, remember, deny, consent with a subset of scopes, reject,
 * logout, the CSRF protection of the app's own forms, and HTML escaping of what the admin API says.
 */
import t from 'tap'
import type { AcceptOAuth2ConsentRequest, AcceptOAuth2LoginRequest, OAuth2ConsentRequest, OAuth2LoginRequest, OAuth2LogoutRequest, RejectOAuth2Request } from '@ory/hydra-client'
import type { AcceptConsent, AcceptLogin, ConsentRequest, LoginRequest, LogoutRequest, Reject } from '../src/login-app/admin-api.js'
import { startAdminDouble } from './helpers/hydra-admin-double.js'
import { Browser, hidden, startAppAgainst } from './helpers/login-app.js'

// The app's own types must fit Hydra's (checked by the compiler): what it reads is what Hydra
// answers, what it sends is what Hydra takes.
type Mutable<V> = V extends readonly (infer U)[] ? U[] : V
type Writable<T> = { -readonly [K in keyof T]: Mutable<T[K]> }
export const readsHydra: [LoginRequest, ConsentRequest, LogoutRequest] = [{} as OAuth2LoginRequest, {} as OAuth2ConsentRequest, {} as OAuth2LogoutRequest]
export const sendsHydra: [AcceptOAuth2LoginRequest, AcceptOAuth2ConsentRequest, RejectOAuth2Request] = [
  {} as Writable<AcceptLogin>,
  {} as Writable<AcceptConsent>,
  {} as Reject,
]

const double = await startAdminDouble()
t.teardown(() => double.close())
const { url, app } = await startAppAgainst(double, { admin: { api_key: 'test-admin-key-0123456789' } })
t.teardown(() => app.close())

let n = 0
const next = (prefix: string): string => `${prefix}-${++n}`
const DENIED = { error: 'access_denied', error_description: 'The resource owner or authorization server denied the request.' }

t.test('the login page: a form with the challenge, a CSRF token, the client name, safe headers', async (t) => {
  const c = next('login')
  double.login({ challenge: c })
  const b = new Browser(url)
  const res = await b.get(`/login?login_challenge=${c}`)
  t.equal(res.status, 200)
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8/)
  t.match(res.headers['content-security-policy'], /default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; base-uri 'none'; frame-ancestors 'none'/)
  t.equal(res.headers['x-frame-options'], 'DENY')
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['referrer-policy'], 'no-referrer')
  t.equal(hidden(res.text, 'challenge'), c)
  t.match(hidden(res.text, 'csrf'), /^[A-Za-z0-9_-]{43}$/)
  t.match(res.text, /name="username"/)
  t.match(res.text, /type="password" name="password"/)
  t.match(res.text, /type="checkbox" name="remember"/)
  t.match(res.text, /<strong>Demo App<\/strong>/)
  t.match(String(res.headers['set-cookie']), /^gatehouse_login_csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/)
  t.same(double.puts(), [], 'nothing accepted by showing the page')
  t.equal(double.calls.at(-1)?.authorization, 'Bearer test-admin-key-0123456789', 'the admin API key is sent')
})

t.test('skip: accepted at once with the subject the token server remembers, no page', async (t) => {
  const c = next('login')
  double.login({ challenge: c, skip: true, subject: 'user-alice' })
  const res = await new Browser(url).get(`/login?login_challenge=${c}`)
  t.equal(res.status, 302)
  t.equal(res.headers.location, `${double.url}/oauth2/auth?login_verifier=${c}`)
  t.same(double.puts().at(-1), { method: 'PUT', flow: 'login', action: 'accept', challenge: c, body: { subject: 'user-alice' }, authorization: 'Bearer test-admin-key-0123456789' })
})

t.test('a wrong password or an unknown user: the page again, one message, nothing accepted', async (t) => {
  const c = next('login')
  double.login({ challenge: c })
  const b = new Browser(url)
  const page = await b.get(`/login?login_challenge=${c}`)
  const form = { challenge: c, csrf: hidden(page.text, 'csrf'), action: 'login' }
  const wrong = await b.post('/login', { ...form, username: 'foo@bar.com', password: 'nope' })
  const unknown = await b.post('/login', { ...form, username: 'nobody@bar.com', password: 'foobar' })
  for (const [res, name] of [[wrong, 'foo@bar.com'], [unknown, 'nobody@bar.com']] as const) {
    t.equal(res.status, 200)
    t.match(res.text, /<p class="error" role="alert">The user name or the password is wrong\.<\/p>/)
    t.match(res.text, `name="username" autocomplete="username" autofocus required value="${name}"`, 'the name is kept')
    t.equal(hidden(res.text, 'challenge'), c)
  }
  t.equal(wrong.text.replace(/foo@bar\.com/g, ''), unknown.text.replace(/nobody@bar\.com/g, ''), 'the same page either way')
  t.same(double.puts(), double.puts().filter((p) => p.challenge !== c), 'no accept for this challenge')
  // The page still works after the error.
  const ok = await b.post('/login', { ...form, csrf: hidden(unknown.text, 'csrf'), username: 'foo@bar.com', password: 'foobar' })
  t.equal(ok.status, 302)
})

t.test('the right password: accept with subject, acr, amr; remember me → remember_for', async (t) => {
  for (const remember of [false, true]) {
    const c = next('login')
    double.login({ challenge: c })
    const b = new Browser(url)
    const page = await b.get(`/login?login_challenge=${c}`)
    const res = await b.post('/login', {
      challenge: c, csrf: hidden(page.text, 'csrf'), username: 'alice', password: 'correct horse', action: 'login',
      ...(remember ? { remember: 'on' } : {}),
    })
    t.equal(res.status, 302)
    t.equal(res.headers.location, `${double.url}/oauth2/auth?login_verifier=${c}`)
    t.same(double.puts().at(-1)?.body, {
      subject: 'user-alice', remember, ...(remember ? { remember_for: 3600 } : {}), acr: '0', amr: ['pwd'],
    }, `remember: ${remember}`)
  }
})

t.test('deny: login reject with access_denied, and on to its redirect_to', async (t) => {
  const c = next('login')
  double.login({ challenge: c })
  const b = new Browser(url)
  const page = await b.get(`/login?login_challenge=${c}`)
  const res = await b.post('/login', { challenge: c, csrf: hidden(page.text, 'csrf'), username: '', password: '', action: 'deny' })
  t.equal(res.status, 302)
  t.equal(res.headers.location, `${double.url}/rejected?flow=login`)
  t.same(double.puts().at(-1), { method: 'PUT', flow: 'login', action: 'reject', challenge: c, body: DENIED, authorization: 'Bearer test-admin-key-0123456789' })
})

t.test("CSRF: the app's forms are refused without the cookie, from another browser, for another challenge", async (t) => {
  const c = next('login')
  const other = next('login')
  double.login({ challenge: c })
  double.login({ challenge: other })
  const a = new Browser(url)
  const b = new Browser(url)
  const pageA = await a.get(`/login?login_challenge=${c}`)
  const pageB = await b.get(`/login?login_challenge=${c}`)
  const pageOther = await a.get(`/login?login_challenge=${other}`)
  const creds = { username: 'foo@bar.com', password: 'foobar', action: 'login' }
  const attempts = {
    'no cookie': () => new Browser(url).post('/login', { ...creds, challenge: c, csrf: hidden(pageA.text, 'csrf') }),
    "another browser's token": () => a.post('/login', { ...creds, challenge: c, csrf: hidden(pageB.text, 'csrf') }),
    "another challenge's token": () => a.post('/login', { ...creds, challenge: c, csrf: hidden(pageOther.text, 'csrf') }),
    'no token': () => a.post('/login', { ...creds, challenge: c }),
    'a forged token': () => a.post('/login', { ...creds, challenge: c, csrf: 'A'.repeat(43) }),
    'a deny without a token': () => a.post('/login', { challenge: c, action: 'deny' }),
    'a consent with a login token': () => a.post('/consent', { challenge: c, csrf: hidden(pageA.text, 'csrf'), action: 'allow' }),
  }
  for (const [name, attempt] of Object.entries(attempts)) {
    const res = await attempt()
    t.equal(res.status, 403, name)
    t.match(res.text, /This form has expired or did not come from this site/, name)
  }
  t.same(double.puts().filter((p) => p.challenge === c), [], 'nothing accepted or rejected')
  const ok = await a.post('/login', { ...creds, challenge: c, csrf: hidden(pageA.text, 'csrf') })
  t.equal(ok.status, 302, 'the genuine form still works')
})

t.test('the consent page: client, each scope with a checkbox, audience; a hostile client name is escaped', async (t) => {
  const c = next('consent')
  const hostile = `<script>alert("x")</script>"><img src=x onerror=alert(1)>&amp;`
  double.consent({
    challenge: c, client: { client_id: 'evil', client_name: hostile }, subject: 'foo@bar.com',
    requested_scope: ['openid', 'email', 'x"><b>scope</b>'], requested_access_token_audience: ['https://api.example.com/<i>'],
  })
  const res = await new Browser(url).get(`/consent?consent_challenge=${c}`)
  t.equal(res.status, 200)
  t.notMatch(res.text, /<script>|<img|<b>|<i>/, 'no markup from the admin API reaches the page')
  t.match(res.text, '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;amp;')
  t.match(res.text, '<input type="checkbox" name="scope" value="openid" checked>')
  t.match(res.text, '<input type="checkbox" name="scope" value="email" checked> <code>email</code> <span class="muted">(see your email address)</span>')
  t.match(res.text, 'value="x&quot;&gt;&lt;b&gt;scope&lt;/b&gt;"')
  t.match(res.text, 'https://api.example.com/&lt;i&gt;')
  t.match(res.text, /type="checkbox" name="remember"/)
})

t.test('consent with a subset of scopes: only those granted, never more than requested; claims by granted scope', async (t) => {
  const c = next('consent')
  double.consent({ challenge: c, subject: 'foo@bar.com', requested_scope: ['openid', 'offline_access', 'email', 'profile'], requested_access_token_audience: ['https://api.example.com'] })
  const b = new Browser(url)
  const page = await b.get(`/consent?consent_challenge=${c}`)
  const res = await b.post('/consent', { challenge: c, csrf: hidden(page.text, 'csrf'), action: 'allow', scope: ['openid', 'email', 'admin'] })
  t.equal(res.status, 302)
  t.equal(res.headers.location, `${double.url}/oauth2/auth?consent_verifier=${c}`)
  t.same(double.puts().at(-1)?.body, {
    grant_scope: ['openid', 'email'],
    grant_access_token_audience: ['https://api.example.com'],
    remember: false,
    session: { id_token: { email: 'foo@bar.com', email_verified: true } },
  }, 'admin (not requested) is not granted; name needs profile; secret_note is never released')
})

t.test('consent remembered: remember_for; consent skip: accepted at once as requested', async (t) => {
  const c = next('consent')
  double.consent({ challenge: c, subject: 'foo@bar.com', requested_scope: ['openid', 'profile'] })
  const b = new Browser(url)
  const page = await b.get(`/consent?consent_challenge=${c}`)
  await b.post('/consent', { challenge: c, csrf: hidden(page.text, 'csrf'), action: 'allow', scope: ['openid', 'profile'], remember: 'on' })
  t.same(double.puts().at(-1)?.body, {
    grant_scope: ['openid', 'profile'], grant_access_token_audience: [], remember: true, remember_for: 3600, session: { id_token: { name: 'Foo Bar' } },
  })
  const s = next('consent')
  double.consent({ challenge: s, subject: 'foo@bar.com', skip: true, requested_scope: ['openid', 'email'], requested_access_token_audience: ['aud-1'] })
  const res = await b.get(`/consent?consent_challenge=${s}`)
  t.equal(res.status, 302)
  t.equal(res.headers.location, `${double.url}/oauth2/auth?consent_verifier=${s}`)
  t.same(double.puts().at(-1)?.body, {
    grant_scope: ['openid', 'email'], grant_access_token_audience: ['aud-1'], remember: false, session: { id_token: { email: 'foo@bar.com', email_verified: true } },
  })
})

t.test('consent denied: consent reject with access_denied', async (t) => {
  const c = next('consent')
  double.consent({ challenge: c })
  const b = new Browser(url)
  const page = await b.get(`/consent?consent_challenge=${c}`)
  const res = await b.post('/consent', { challenge: c, csrf: hidden(page.text, 'csrf'), action: 'deny', scope: 'openid' })
  t.equal(res.status, 302)
  t.equal(res.headers.location, `${double.url}/rejected?flow=consent`)
  t.same(double.puts().at(-1), { method: 'PUT', flow: 'consent', action: 'reject', challenge: c, body: DENIED, authorization: 'Bearer test-admin-key-0123456789' })
})

t.test('logout: a confirmation page; accept → on to redirect_to; reject (Hydra: 204) → still signed in', async (t) => {
  for (const action of ['accept', 'reject']) {
    const c = next('logout')
    double.logout({ challenge: c, subject: 'foo@bar.com', client: { client_name: '<Demo>' }, rp_initiated: true })
    const b = new Browser(url)
    const page = await b.get(`/logout?logout_challenge=${c}`)
    t.equal(page.status, 200)
    t.match(page.text, 'You are signed in as <strong>foo@bar.com</strong>. <strong>&lt;Demo&gt;</strong> asks to sign you out.')
    const res = await b.post('/logout', { challenge: c, csrf: hidden(page.text, 'csrf'), action })
    t.same(double.puts().at(-1)?.action, action)
    if (action === 'accept') {
      t.equal(res.status, 302)
      t.equal(res.headers.location, `${double.url}/oauth2/auth?logout_verifier=${c}`)
    } else {
      t.equal(res.status, 200)
      t.match(res.text, /You are still signed in/)
    }
  }
})

t.test('unknown, handled and missing challenges', async (t) => {
  const b = new Browser(url)
  const unknown = await b.get('/login?login_challenge=does-not-exist')
  t.equal(unknown.status, 404)
  t.match(unknown.text, /This sign-in request is unknown or has expired/)
  const c = next('login')
  double.login({ challenge: c, skip: true, subject: 'foo@bar.com' })
  await b.get(`/login?login_challenge=${c}`)
  const again = await b.get(`/login?login_challenge=${c}`)
  t.equal(again.status, 302, "a handled challenge (Hydra's 410) sends the browser on")
  t.equal(again.headers.location, `${double.url}/already-handled?login_challenge=${c}`)
  for (const path of ['/login', '/consent', '/logout']) {
    const res = await b.get(path)
    t.equal(res.status, 400, path)
    t.match(res.text, /_challenge parameter is missing/)
  }
  t.equal((await b.get('/nowhere')).status, 404)
  t.equal((await b.send('DELETE', '/login')).status, 405)
})

t.test('forms the app cannot read: another content type, too large', async (t) => {
  const b = new Browser(url)
  const json = await b.send('POST', '/login', '{"username":"x"}', 'application/json')
  t.equal(json.status, 415)
  const big = await b.post('/login', { challenge: 'x', username: 'a'.repeat(20_000) })
  t.equal(big.status, 413)
  t.notMatch(big.text, /at |Error:/, 'no stack trace')
})

t.test('an admin API that cannot be reached: a page that says so, no details', async (t) => {
  const other = await startAdminDouble()
  const { url: u, app: a } = await startAppAgainst(other)
  await other.close()
  t.teardown(() => a.close())
  const res = await new Browser(u).get('/login?login_challenge=x')
  t.equal(res.status, 502)
  t.match(res.text, /The token server could not be reached or refused the request/)
  t.notMatch(res.text, /ECONNREFUSED|127\.0\.0\.1/)
})
