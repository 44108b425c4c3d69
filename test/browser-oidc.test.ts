/**
 * The whole sign-in in a real browser against the real quickstart (`gatehouse quickstart` as a
 * child process on its fixed ports: token server, login app, demo client): Debian's Chromium,
 * driven by playwright-core, opens the demo app, signs in as foo@bar.com/foobar, consents and
 * lands on the callback page with the verified ID-token claims. Then `perform authorization-code
 * --no-open` against the same server, with Chromium at the URL it prints, prints the tokens.
 * In CI (CI=true, or GATEHOUSE_REQUIRE_CHROMIUM=1) a missing Chromium fails; elsewhere it skips.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import t from 'tap'
import { chromium, type Browser as Chromium, type Page } from 'playwright-core'
import { request } from 'undici'
import { BIN, clean, ROOT, start } from './helpers/cli.js'
import { takeQuickstartPorts } from './helpers/quickstart-ports.js'
import { exitOf, outputMatching } from './helpers/wait.js'

const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium'
const APP = 'http://127.0.0.1:3000'
const ISSUER = 'http://127.0.0.1:4444/'

async function introspect(token: string): Promise<Record<string, unknown>> {
  const res = await request('http://127.0.0.1:4445/admin/oauth2/introspect', {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString(),
  })
  return (await res.body.json()) as Record<string, unknown>
}

/** The built-in login and consent pages, as a person fills them in. */
async function signInAndAllow(page: Page): Promise<void> {
  await page.waitForURL(/^http:\/\/127\.0\.0\.1:3000\/login\?login_challenge=/)
  await page.getByLabel('User name').fill('foo@bar.com')
  await page.getByLabel('Password').fill('foobar')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(/^http:\/\/127\.0\.0\.1:3000\/consent\?consent_challenge=/)
  await page.getByRole('button', { name: 'Allow' }).click()
}

if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true' || process.env.GATEHOUSE_REQUIRE_CHROMIUM === '1') t.fail(`Chromium is not installed at ${CHROMIUM} (.ci/run installs Debian's chromium package)`)
  else t.test('the OpenID Connect flow in a browser', { skip: `Chromium is not installed at ${CHROMIUM}: apt-get install chromium (CI=true makes this a failure)` }, async () => {})
} else {
  // quickstart.test.ts and npm-start.test.ts use the same ports: take turns.
  t.teardown(await takeQuickstartPorts())
  const qs = await start(['quickstart'], /gateway listening/, { timeoutMs: 60_000 })
  t.teardown(() => qs.stop())
  // As root (CI containers) Chromium refuses to start with its sandbox.
  const browser: Chromium = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] })
  t.teardown(() => browser.close())

  t.test('the demo app: sign in as foo@bar.com, consent, the callback shows the verified ID-token claims', async (t) => {
    const context = await browser.newContext()
    t.teardown(() => context.close())
    const page = await context.newPage()
    await page.goto(`${APP}/`)
    await page.getByRole('button', { name: 'Sign in with demo-app' }).click()
    await signInAndAllow(page)
    await page.waitForURL(/^http:\/\/127\.0\.0\.1:3000\/callback\?/)
    t.equal(await page.title(), 'Signed in')
    t.equal(await page.locator('p.error').count(), 0, 'no problem reported by the demo client')

    const claims = JSON.parse((await page.locator('#claims').textContent())!) as Record<string, unknown>
    t.match(claims, { iss: ISSUER, sub: 'foo@bar.com', aud: ['demo-app'], amr: ['pwd'], email: 'foo@bar.com', email_verified: true })
    t.type(claims.nonce, 'string')
    t.type(claims.at_hash, 'string')
    const tokens = JSON.parse((await page.locator('#tokens').textContent())!) as Record<string, string>
    t.match(tokens, { token_type: 'bearer', access_token: /^ory_at_/, refresh_token: /^ory_rt_/, id_token: /\./ })
    t.match(await introspect(tokens.access_token!), { active: true, client_id: 'demo-app', sub: 'foo@bar.com', token_use: 'access_token' })
    t.match(await introspect(tokens.refresh_token!), { active: true, token_use: 'refresh_token' })
  })

  t.test('perform authorization-code --no-open against the quickstart, Chromium at the printed URL: tokens printed', async (t) => {
    const child = spawn(
      process.execPath,
      [BIN, 'perform', 'authorization-code', '--no-open', '--endpoint', ISSUER, '--client-id', 'demo-app', '--port', '5555', '--scope', 'openid,offline_access,email', '--format', 'json'],
      { cwd: ROOT, env: clean(), stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exit = exitOf(child)
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    const printed = /navigate to:\n\n\t(\S+)\n/
    await outputMatching(child, () => stderr, printed)
    const home = printed.exec(stderr)![1]!
    t.equal(home, 'http://127.0.0.1:5555/')

    const context = await browser.newContext()
    t.teardown(() => context.close())
    const page = await context.newPage()
    await page.goto(home)
    await page.getByRole('link', { name: 'Authorize application' }).click()
    await signInAndAllow(page)
    await page.waitForURL(/^http:\/\/127\.0\.0\.1:5555\/callback\?/)
    t.same(await exit, { code: 0, signal: null }, `exit 0; stderr: ${stderr}`)
    const out = JSON.parse(stdout) as Record<string, unknown>
    t.match(out, { access_token: /^ory_at_/, refresh_token: /^ory_rt_/, id_token: /\./, token_type: 'bearer' })
    t.match(await introspect(String(out.access_token)), { active: true, client_id: 'demo-app', sub: 'foo@bar.com', token_use: 'access_token' })
  })
}
