/**
 * The built-in login app in a real browser: Debian's Chromium driven by playwright-core (nothing
 * downloads a browser), clicking through the login and consent pages of the app served against a
 * test double of Hydra's admin API. In CI (CI=true, or GATEHOUSE_REQUIRE_CHROMIUM=1 as .ci/run
 * sets) a missing Chromium fails the test; elsewhere it is skipped with a message.
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { chromium, type Browser as Chromium } from 'playwright-core'
import { startAdminDouble } from './helpers/hydra-admin-double.js'
import { startAppAgainst } from './helpers/login-app.js'

/** The page's window, as far as the test uses it (the tests compile without the DOM library). */
interface BrowserWindow {
  getComputedStyle(element: unknown): { backgroundColor: string }
}

const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium'

if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true' || process.env.GATEHOUSE_REQUIRE_CHROMIUM === '1') t.fail(`Chromium is not installed at ${CHROMIUM} (.ci/run installs Debian's chromium package)`)
  else t.test('the login app in a browser', { skip: `Chromium is not installed at ${CHROMIUM}: apt-get install chromium (CI=true makes this a failure)` }, async () => {})
} else {
  const double = await startAdminDouble()
  t.teardown(() => double.close())
  const { url, app } = await startAppAgainst(double)
  t.teardown(() => app.close())
  // As root (CI containers) Chromium refuses to start with its sandbox.
  const browser: Chromium = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] })
  t.teardown(() => browser.close())

  t.test('sign in and consent by clicking, with the app’s styles allowed by its CSP', async (t) => {
    double.login({ challenge: 'browser-login', requested_scope: ['openid', 'email', 'profile'] }, 'browser-consent')
    double.consent({ challenge: 'browser-consent', subject: 'foo@bar.com', requested_scope: ['openid', 'email', 'profile'] })
    const context = await browser.newContext()
    t.teardown(() => context.close())
    const page = await context.newPage()
    const violations: string[] = []
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text())
    })

    await page.goto(`${url}/login?login_challenge=browser-login`)
    t.equal(await page.title(), 'Sign in')
    t.equal(await page.locator('button[value=login]').evaluate((b) => (globalThis as unknown as BrowserWindow).getComputedStyle(b).backgroundColor), 'rgb(47, 91, 211)', 'the inline stylesheet applies')

    // A wrong password first: the page comes back with the error and the name filled in.
    await page.getByLabel('User name').fill('foo@bar.com')
    await page.getByLabel('Password').fill('wrong')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForSelector('p.error')
    t.equal(await page.locator('p.error').textContent(), 'The user name or the password is wrong.')
    t.equal(await page.getByLabel('User name').inputValue(), 'foo@bar.com')

    await page.getByLabel('Password').fill('foobar')
    await page.getByLabel('Remember me').check()
    await page.getByRole('button', { name: 'Sign in' }).click()
    // The double sends the browser from the login's redirect_to to the app's consent page.
    await page.waitForURL(`${url}/consent?consent_challenge=browser-consent`)
    t.equal(await page.title(), 'Allow access')
    t.match(await page.locator('main').textContent(), /Demo App asks to act for foo@bar\.com/)
    t.same(await Promise.all((await page.locator('input[name=scope]').all()).map((l) => l.getAttribute('value'))), ['openid', 'email', 'profile'])
    await page.locator('input[name=scope][value=profile]').uncheck()
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL(`${double.url}/done`)

    const puts = double.puts().filter((p) => p.challenge.startsWith('browser-'))
    t.same(puts.map((p) => [p.flow, p.action]), [['login', 'accept'], ['consent', 'accept']])
    t.same(puts[0]!.body, { subject: 'foo@bar.com', remember: true, remember_for: 3600, acr: '0', amr: ['pwd'] })
    t.same(puts[1]!.body, {
      grant_scope: ['openid', 'email'], grant_access_token_audience: [], remember: false,
      session: { id_token: { email: 'foo@bar.com', email_verified: true } },
    })
    t.same(violations, [], 'no Content-Security-Policy violation on the way')
  })

  t.test('deny on the login page: the browser goes to the reject’s redirect_to', async (t) => {
    double.login({ challenge: 'browser-deny' })
    const context = await browser.newContext()
    t.teardown(() => context.close())
    const page = await context.newPage()
    await page.goto(`${url}/login?login_challenge=browser-deny`)
    await page.getByRole('button', { name: 'Deny' }).click()
    await page.waitForURL(`${double.url}/rejected?flow=login`)
    t.same(double.puts().filter((p) => p.challenge === 'browser-deny').map((p) => p.action), ['reject'])
  })
}
