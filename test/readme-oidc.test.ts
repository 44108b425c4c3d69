/**
 * The README's sign-in walk-through with `perform authorization-code`, run as written against a
 * real token server with the quickstart's demo client: the command (only `ORY_SDK_URL` set, since
 * the test's server listens on port 0), a browser that follows the redirects, a login/consent app
 * that accepts through the admin API (what the built-in login app does when you press its
 * buttons), then the README's curl lines with the tokens the command printed.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { demoClient } from '../src/cli/quickstart-demo.js'
import type { LoginAppConfig } from '../src/login-app/config.js'
import { BIN, clean, ROOT } from './helpers/cli.js'
import { adminSdk, Browser, param } from './helpers/oidc-flow.js'
import { call, startTokenServer, type RunningTokenServer } from './helpers/token-server.js'

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
const section = readme.slice(readme.indexOf('#### With `perform authorization-code`'), readme.indexOf('## Access rules'))
const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\\\n\s*/g, ''))
const perform = blocks[0]?.trim() ?? ''
const curls = (blocks[1] ?? '').split('\n').filter((l) => l.startsWith('curl '))

/** The server's redirects name its issuer; the test's server listens elsewhere. */
const onServer = (s: RunningTokenServer, url: string): string => `${s.publicUrl}${new URL(url).pathname}${new URL(url).search}`

t.test('the README shows the command and the curl lines', async (t) => {
  t.match(perform, /^npx gatehouse token-server perform authorization-code --client-id demo-app --port 5555 .*--no-open$/)
  t.equal(curls.length, 3)
})

t.test("perform authorization-code as the README runs it, then the README's curl lines", async (t) => {
  const s = await startTokenServer({ config: { urls: { login: 'http://127.0.0.1:3000/login', consent: 'http://127.0.0.1:3000/consent' } } })
  t.teardown(() => s.close())
  const loginApp = parse(readFileSync(join(ROOT, 'config/login-app.yml'), 'utf8')) as LoginAppConfig
  const created = await call('POST', `${s.adminUrl}/admin/clients`, { json: demoClient(loginApp) })
  t.equal(created.status, 201, 'the quickstart demo client')

  const child = spawn('bash', ['-c', perform.replace(/^npx gatehouse/, `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`)], {
    cwd: ROOT,
    env: clean({ ORY_SDK_URL: s.publicUrl, TZ: 'UTC' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  t.teardown(() => child.kill())
  const home = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d
      const m = /navigate to:\s+(\S+)/.exec(stderr)
      if (m !== null) resolve(m[1]!)
    })
    child.on('close', () => reject(new Error(`perform exited early: ${stderr}`)))
  })
  t.equal(home, 'http://127.0.0.1:5555/', '--no-open prints the address to open')

  // The browser: the command's page → /oauth2/auth → the login page, with a challenge.
  const b = new Browser()
  const toAuth = await b.visit(`${home}perform-flow`)
  const toLogin = await b.visit(toAuth.location!)
  t.ok(toLogin.location?.startsWith('http://127.0.0.1:3000/login?'), 'sent to urls.login')
  t.equal(new URL(toAuth.location!).searchParams.get('scope'), 'openid offline_access profile email', 'the scopes the README names')
  const sdk = adminSdk(s.adminUrl)
  const { data: login } = await sdk.acceptOAuth2LoginRequest({ loginChallenge: param(toLogin.location, 'login_challenge')!, acceptOAuth2LoginRequest: { subject: 'foo@bar.com' } })
  const toConsent = await b.visit(onServer(s, login.redirect_to))
  const consentChallenge = param(toConsent.location, 'consent_challenge')!
  const { data: request } = await sdk.getOAuth2ConsentRequest({ consentChallenge })
  const { data: consent } = await sdk.acceptOAuth2ConsentRequest({
    consentChallenge,
    acceptOAuth2ConsentRequest: { grant_scope: request.requested_scope ?? [], session: { id_token: { name: 'Foo Bar', email: 'foo@bar.com' } } },
  })
  const toCallback = await b.visit(onServer(s, consent.redirect_to))
  t.ok(toCallback.location?.startsWith('http://127.0.0.1:5555/callback?code='), 'back to the command with a code')
  const page = await b.visit(toCallback.location!)
  t.equal(page.status, 200, 'the callback page shows the tokens')
  t.equal(await exited, 0, 'the command exits 0 after one flow')

  const field = (name: string): string => new RegExp(`^${name}\\t+(\\S+)`, 'm').exec(stdout)?.[1] ?? ''
  const accessToken = field('ACCESS TOKEN')
  const refreshToken = field('REFRESH TOKEN')
  t.match(accessToken, /^ory_at_/, 'an access token printed')
  t.match(refreshToken, /^ory_rt_/, 'a refresh token printed (offline_access)')
  t.match(field('ID TOKEN'), /^ey/, 'an ID token printed (openid)')

  const outputs: Record<string, unknown>[] = []
  for (const line of curls) {
    const command = line
      .replaceAll('http://127.0.0.1:4444', s.publicUrl)
      .replaceAll('http://127.0.0.1:4445', s.adminUrl)
      .replaceAll('<access token>', accessToken)
      .replaceAll('<refresh token>', refreshToken)
    const out = await new Promise<string>((resolve) => {
      let text = ''
      const c = spawn('bash', ['-c', command], { stdio: ['ignore', 'pipe', 'inherit'] })
      c.stdout.on('data', (d: Buffer) => (text += d))
      c.on('close', () => resolve(text))
    })
    outputs.push(JSON.parse(out) as Record<string, unknown>)
  }
  const [userinfo, introspection, refreshed] = outputs
  t.match(userinfo, { sub: 'foo@bar.com', name: 'Foo Bar', email: 'foo@bar.com' }, 'userinfo')
  t.match(introspection, { active: true, sub: 'foo@bar.com', client_id: 'demo-app', token_use: 'access_token' }, 'introspection')
  t.match(refreshed, { access_token: /^ory_at_/, refresh_token: /^ory_rt_/, id_token: /^ey/, token_type: 'bearer' }, 'refresh')
  t.not((refreshed as { refresh_token?: string }).refresh_token, refreshToken, 'rotated')
  const old = await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: accessToken } })
  t.same(old.body, { active: false }, 'strict rotation: the earlier access token is inactive, as the README says')
})
