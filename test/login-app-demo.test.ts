/**
 * The login app's demo client pages (`/`, `/demo/start`, `/callback`) against a small double of
 * the token server's public side (discovery, JWKS, token endpoint) that checks PKCE and signs
 * ID tokens with a key of its own: the page shows claims only when the ID token verifies.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { startAdminDouble } from './helpers/hydra-admin-double.js'
import { Browser, startAppAgainst } from './helpers/login-app.js'

const { publicKey, privateKey } = await generateKeyPair('RS256')
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }

/** What the token endpoint does next: answer normally, or with a wrong nonce, or refuse. */
let mode: 'ok' | 'bad-nonce' | 'refuse' = 'ok'
/** The authorization request the app sent (read by the test from /demo/start's redirect). */
let authorize: URLSearchParams | undefined
const posted: URLSearchParams[] = []

const op = createServer((req, res) => {
  const base = `http://127.0.0.1:${(op.address() as AddressInfo).port}`
  const path = new URL(req.url ?? '/', base).pathname
  const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  if (path === '/.well-known/openid-configuration') {
    return json(200, { issuer: `${base}/`, authorization_endpoint: `${base}/oauth2/auth`, token_endpoint: `${base}/oauth2/token`, jwks_uri: `${base}/.well-known/jwks.json` })
  }
  if (path === '/.well-known/jwks.json') return json(200, { keys: [jwk] })
  if (path !== '/oauth2/token') return json(404, { error: 'not_found' })
  let text = ''
  req.on('data', (d: Buffer) => (text += d.toString()))
  req.on('end', () => {
    const form = new URLSearchParams(text)
    posted.push(form)
    const verifier = form.get('code_verifier') ?? ''
    const pkceOk = createHash('sha256').update(verifier).digest('base64url') === authorize?.get('code_challenge')
    if (mode === 'refuse' || !pkceOk || form.get('code') !== 'the-code') {
      return json(400, { error: 'invalid_grant', error_description: 'The provided authorization grant is invalid, <b>expired</b>.' })
    }
    const nonce = mode === 'bad-nonce' ? 'another' : authorize!.get('nonce')!
    new SignJWT({ nonce, email: 'foo@bar.com', name: '<Foo>' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(`${base}/`).setAudience('demo-app').setSubject('foo@bar.com').setIssuedAt().setExpirationTime('5m')
      .sign(privateKey)
      .then((id_token) => json(200, { access_token: 'ory_at_x.y', token_type: 'bearer', expires_in: 3600, scope: 'openid email', id_token }))
  })
})
await new Promise<void>((r) => op.listen(0, '127.0.0.1', r))
t.teardown(() => op.close())
const opUrl = `http://127.0.0.1:${(op.address() as AddressInfo).port}`

const double = await startAdminDouble()
t.teardown(() => double.close())
const { url, app } = await startAppAgainst(double, { urls: { admin: double.url, public: opUrl, self: 'http://127.0.0.1:3000/' }, demo: { client_id: 'demo-app', scope: 'openid email' } })
t.teardown(() => app.close())

/** Starts a sign-in in a fresh browser; returns it with the state the app sent. */
async function started(): Promise<{ b: Browser; state: string }> {
  const b = new Browser(url)
  const res = await b.get('/demo/start')
  authorize = new URL(String(res.headers.location)).searchParams
  return { b, state: authorize.get('state')! }
}

t.test('the home page offers the demo sign-in; /demo/start sends the browser to authorize with PKCE', async (t) => {
  const home = await new Browser(url).get('/')
  t.equal(home.status, 200)
  t.match(home.text, '<form method="get" action="/demo/start"><button type="submit">Sign in with demo-app</button></form>')
  const b = new Browser(url)
  const res = await b.get('/demo/start')
  t.equal(res.status, 302)
  const to = new URL(String(res.headers.location))
  t.equal(`${to.origin}${to.pathname}`, `${opUrl}/oauth2/auth`)
  t.match(Object.fromEntries(to.searchParams), {
    response_type: 'code', client_id: 'demo-app', redirect_uri: 'http://127.0.0.1:3000/callback', scope: 'openid email',
    state: /^[A-Za-z0-9_-]{43}$/, nonce: /^[A-Za-z0-9_-]{43}$/, code_challenge: /^[A-Za-z0-9_-]{43}$/, code_challenge_method: 'S256',
  })
  t.match(String(res.headers['set-cookie']), /^gatehouse_demo_flow=[A-Za-z0-9_-]+; Max-Age=600; Path=\/callback; HttpOnly; SameSite=Lax$/)
})

t.test('the callback exchanges the code with the PKCE verifier and shows the verified claims, escaped', async (t) => {
  mode = 'ok'
  const { b, state } = await started()
  const res = await b.get(`/callback?code=the-code&state=${state}`)
  t.equal(res.status, 200)
  t.match(res.text, /<h1>Signed in<\/h1>/)
  t.match(res.text, /&quot;email&quot;: &quot;foo@bar.com&quot;/)
  t.match(res.text, /&quot;name&quot;: &quot;&lt;Foo&gt;&quot;/)
  t.notMatch(res.text, /<Foo>/)
  t.match(Object.fromEntries(posted.at(-1)!), { grant_type: 'authorization_code', code: 'the-code', redirect_uri: 'http://127.0.0.1:3000/callback', client_id: 'demo-app' })
  const again = await b.get(`/callback?code=the-code&state=${state}`)
  t.equal(again.status, 400, 'the flow cookie is used once')
})

t.test('a callback that does not belong to this browser, a wrong nonce, a refused code, an error', async (t) => {
  mode = 'ok'
  const { state } = await started()
  const stranger = await new Browser(url).get(`/callback?code=the-code&state=${state}`)
  t.equal(stranger.status, 400)
  t.match(stranger.text, /state does not match/)
  const { b: b2 } = await started()
  t.equal((await b2.get('/callback?code=the-code&state=guessed')).status, 400)

  mode = 'bad-nonce'
  const { b: b3, state: s3 } = await started()
  const nonce = await b3.get(`/callback?code=the-code&state=${s3}`)
  t.equal(nonce.status, 502)
  t.match(nonce.text, /The ID token is not valid: the nonce is not the one sent/)
  t.notMatch(nonce.text, /id="claims"/)

  mode = 'refuse'
  const { b: b4, state: s4 } = await started()
  const refused = await b4.get(`/callback?code=the-code&state=${s4}`)
  t.equal(refused.status, 502)
  t.match(refused.text, /The token endpoint refused the code/)
  t.match(refused.text, /invalid_grant[\s\S]*&lt;b&gt;expired&lt;\/b&gt;/)

  const error = await new Browser(url).get('/callback?error=access_denied&error_description=%3Cscript%3Eno%3C%2Fscript%3E')
  t.equal(error.status, 400)
  t.match(error.text, 'error_description = &lt;script&gt;no&lt;/script&gt;')
})

t.test("a token server whose discovery has no authorization endpoint: a page that says so", async (t) => {
  const d = await startAdminDouble()
  // The double answers every other path with an HTML page: no discovery document there.
  const { url: u, app: a } = await startAppAgainst(d, { urls: { admin: d.url, public: d.url, self: 'http://127.0.0.1:3000/' }, demo: { client_id: 'demo-app', scope: 'openid' } })
  t.teardown(async () => {
    await a.close()
    await d.close()
  })
  const res = await new Browser(u).get('/demo/start')
  t.equal(res.status, 502)
  t.match(res.text, /discovery document \(http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration\) does not name its issuer: it does not offer the authorization code flow/)
})

t.test('without a demo client: no button, /demo/start is 404, /callback shows what it received', async (t) => {
  const d = await startAdminDouble()
  const { url: u, app: a } = await startAppAgainst(d)
  t.teardown(async () => {
    await a.close()
    await d.close()
  })
  const b = new Browser(u)
  t.notMatch((await b.get('/')).text, /demo\/start/)
  t.equal((await b.get('/demo/start')).status, 404)
  const cb = await b.get('/callback?code=abc&state=xyz')
  t.equal(cb.status, 200)
  t.match(cb.text, 'code = abc\nstate = xyz')
})
