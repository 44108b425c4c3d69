/**
 * `gatehouse perform authorization-code` as a child process (dist/) against a test double of the
 * authorization server (helpers/authorization-server-double.ts); the test plays the browser,
 * following redirects by hand. Every wait is for an event: the printed URL, a page, the exit.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Agent, request, type Dispatcher } from 'undici'
import { selfSignedCertificate } from '../src/cli/hydra/authorization-code/self-signed.js'
import { ACCESS_DENIED, INVALID_GRANT, startAuthorizationServerDouble, type AuthorizationServerDouble } from './helpers/authorization-server-double.js'
import { BIN, clean, ROOT, run } from './helpers/cli.js'
import { exitOf, outputMatching } from './helpers/wait.js'

interface Cli {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** The home URL the command printed ("navigate to: …"). */
  readonly home: string
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts the command and resolves once it printed where to go. */
async function startCli(t: Test, args: readonly string[], env: NodeJS.ProcessEnv = clean({ TZ: 'UTC' })): Promise<Cli> {
  const child = spawn(process.execPath, [BIN, 'perform', 'authorization-code', '--port', '0', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
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
  return { child, stdout: () => stdout, stderr: () => stderr, home: printed.exec(stderr)![1]!, exit }
}

interface Page {
  readonly url: string
  readonly status: number
  readonly body: string
}

/**
 * The browser: GETs `url` and follows redirects by hand; a form_post page (a form with hidden
 * inputs) is submitted as a browser's script would.
 */
async function browse(url: string, dispatcher?: Dispatcher): Promise<Page> {
  let next: { url: string; method: 'GET' | 'POST'; body?: string } = { url, method: 'GET' }
  for (let hop = 0; hop < 10; hop++) {
    const res = await request(next.url, {
      method: next.method,
      body: next.body,
      headers: next.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' },
      ...(dispatcher === undefined ? {} : { dispatcher }),
    })
    const body = await res.body.text()
    const location = res.headers.location
    if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
      next = { url: new URL(location, next.url).href, method: 'GET' }
      continue
    }
    const form = /<form method="post" action="([^"]+)">(.*)<\/form>/.exec(body)
    if (form !== null) {
      const fields = new URLSearchParams([...form[2]!.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m): [string, string] => [m[1]!, m[2]!]))
      next = { url: form[1]!, method: 'POST', body: fields.toString() }
      continue
    }
    return { url: next.url, status: res.statusCode, body }
  }
  throw new Error(`more than 10 redirects from ${url}`)
}

/** The table Hydra prints, as HEADER → value. */
function table(out: string): Record<string, string> {
  return Object.fromEntries(out.split('\n').filter((l) => l !== '').map((l) => l.split(/\t+/).slice(0, 2) as [string, string]))
}

async function double(t: Test): Promise<AuthorizationServerDouble> {
  const d = await startAuthorizationServerDouble()
  t.teardown(() => d.close())
  return d
}

const CONFIDENTIAL = ['--client-id', 'web app', '--client-secret', 'secret:1', '--no-open']

t.test('confidential client: the home page links the request; the code is exchanged with PKCE and Basic auth; tokens as Hydra prints them', async (t) => {
  const d = await double(t)
  const cli = await startCli(t, ['--endpoint', d.url, ...CONFIDENTIAL])
  t.match(cli.home, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  t.match(cli.stderr(), `Setting up home route on ${cli.home}\nSetting up callback listener on ${cli.home}callback\n`)

  const welcome = await browse(cli.home)
  t.equal(welcome.status, 200)
  const link = /<a href="([^"]+)">Authorize application<\/a>/.exec(welcome.body)
  t.ok(link, 'the welcome page links the authorization request')
  const result = await browse(link![1]!.replaceAll('&amp;', '&'))
  t.equal(result.url.startsWith(`${cli.home}callback?`), true, 'the browser ends at the callback')
  t.equal(result.status, 200)
  t.match(result.body, '<code>ory_at_code-1.sig</code>', 'the result page shows the access token')
  t.same(await cli.exit, { code: 0, signal: null }, `exit 0; stderr: ${cli.stderr()}`)

  const auth = d.authorizations[0]!
  t.equal(auth.get('client_id'), 'web app')
  t.equal(auth.get('response_type'), 'code')
  t.equal(auth.get('redirect_uri'), `${cli.home}callback`)
  t.equal(auth.get('scope'), 'offline openid', "Hydra's default scopes")
  t.match(auth.get('state'), /^[a-z]{24}$/)
  t.match(auth.get('nonce'), /^[a-z]{24}$/)
  t.equal(auth.get('code_challenge_method'), 'S256')
  t.match(auth.get('code_challenge'), /^[\w-]{43}$/)
  for (const p of ['max_age', 'prompt', 'audience', 'response_mode']) t.equal(auth.has(p), false, `no ${p} by default`)

  const tok = d.tokenRequests[0]!
  t.equal(tok.authorization, `Basic ${Buffer.from('web+app:secret%3A1').toString('base64')}`, 'client_secret_basic, form-encoded (RFC 6749 §2.3.1)')
  t.equal(tok.form.get('grant_type'), 'authorization_code')
  t.equal(tok.form.get('redirect_uri'), `${cli.home}callback`)
  t.match(tok.form.get('code_verifier'), /^[\w-]{43}$/)
  t.equal(tok.form.has('client_id'), false, 'a confidential client is named by its credentials')

  const row = table(cli.stdout())
  t.same(Object.keys(row), ['ACCESS TOKEN', 'REFRESH TOKEN', 'ID TOKEN', 'EXPIRY'])
  t.equal(row['ACCESS TOKEN'], 'ory_at_code-1.sig')
  t.equal(row['REFRESH TOKEN'], 'ory_rt_code-1.sig')
  t.equal(row['ID TOKEN'], 'id.code-1.token')
  t.match(row.EXPIRY, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/)
  t.ok(Math.abs(Date.parse(row.EXPIRY!.replace(' +0000 UTC', 'Z').replace(' ', 'T')) - Date.now() - 3599_000) < 60_000, 'expiry is expires_in from now')
})

t.test('public client, form_post, --format json and the optional parameters', async (t) => {
  const d = await double(t)
  d.authorize = 'form_post'
  const cli = await startCli(t, [
    '--endpoint', d.url, '--client-id', 'spa', '--no-open', '--format', 'json', '--scope', 'openid', '--scope', 'email',
    '--audience', 'https://a.test,https://b.test', '--prompt', 'login', '--prompt', 'consent', '--max-age', '0', '--response-mode', 'form_post',
  ])
  const result = await browse(`${cli.home}perform-flow`)
  t.equal(result.status, 200)
  t.same(await cli.exit, { code: 0, signal: null }, `exit 0; stderr: ${cli.stderr()}`)

  const auth = d.authorizations[0]!
  t.equal(auth.get('scope'), 'openid email')
  t.equal(auth.get('audience'), 'https://a.test https://b.test')
  t.equal(auth.get('prompt'), 'login consent')
  t.equal(auth.get('max_age'), '0')
  t.equal(auth.get('response_mode'), 'form_post')
  const tok = d.tokenRequests[0]!
  t.equal(tok.authorization, undefined, 'a public client sends no credentials')
  t.equal(tok.form.get('client_id'), 'spa')

  const out = JSON.parse(cli.stdout())
  t.equal(out.access_token, 'ory_at_code-1.sig')
  t.equal(out.refresh_token, 'ory_rt_code-1.sig')
  t.equal(out.id_token, 'id.code-1.token')
  t.equal(out.scope, 'openid email')
  t.equal(out.expires_in, 3599)
  t.match(out.expiry, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
})

t.test('a callback whose state is not ours: no exchange, exit 1 with Hydra\'s message', async (t) => {
  const d = await double(t)
  d.authorize = 'wrong-state'
  const cli = await startCli(t, ['--endpoint', d.url, ...CONFIDENTIAL])
  const page = await browse(`${cli.home}perform-flow`)
  t.equal(page.status, 500)
  t.match(page.body, 'States do not match')
  t.equal((await cli.exit).code, 1)
  t.match(cli.stderr(), /\nerror: States do not match\. Expected "[a-z]{24}", got "not-the-state"\.\n$/)
  t.equal(d.tokenRequests.length, 0, 'the code is not exchanged')
  t.equal(cli.stdout(), '')
})

t.test('an error at the callback (access_denied): its description on stderr, exit 1', async (t) => {
  const d = await double(t)
  d.authorize = 'access_denied'
  const cli = await startCli(t, ['--endpoint', d.url, ...CONFIDENTIAL])
  const page = await browse(`${cli.home}perform-flow`)
  t.equal(page.status, 500)
  t.match(page.body, '<h2>access_denied</h2>')
  t.equal((await cli.exit).code, 1)
  t.match(cli.stderr(), `\nerror: the authorization server answered with an error: access_denied: ${ACCESS_DENIED}\n`)
  t.notMatch(cli.stderr(), /\n\s+at .*:\d+/, 'no stack trace')
  t.equal(d.tokenRequests.length, 0)
  t.equal(cli.stdout(), '')
})

t.test('the token endpoint refuses the code: its OAuth error on stderr, exit 1', async (t) => {
  const d = await double(t)
  d.token = 'invalid_grant'
  const cli = await startCli(t, ['--endpoint', d.url, ...CONFIDENTIAL])
  const page = await browse(`${cli.home}perform-flow`)
  t.equal(page.status, 500)
  t.equal((await cli.exit).code, 1)
  t.match(cli.stderr(), `\nerror: Unable to exchange code for token: invalid_grant: ${INVALID_GRANT} (HTTP 400)\n`)
  t.equal(cli.stdout(), '')
})

t.test('without --no-open the home page opens in the browser (xdg-open); with it, no browser is started', async (t) => {
  const d = await double(t)
  const bin = mkdtempSync(join(tmpdir(), 'gatehouse-fake-browser-'))
  t.teardown(() => rmSync(bin, { recursive: true, force: true }))
  const marker = join(bin, 'opened')
  // A fake xdg-open that notes the URL and walks the flow as a browser would (fetch follows redirects).
  writeFileSync(
    join(bin, 'xdg-open'),
    `#!${process.execPath}\nrequire('node:fs').writeFileSync(${JSON.stringify(marker)}, process.argv[2])\nfetch(process.argv[2] + 'perform-flow').then((r) => r.text())\n`,
  )
  chmodSync(join(bin, 'xdg-open'), 0o755)
  const env = clean({ TZ: 'UTC', PATH: `${bin}:${process.env.PATH}` })

  const opened = await startCli(t, ['--endpoint', d.url, '--client-id', 'c', '--client-secret', 's', '-q'], env)
  t.same(await opened.exit, { code: 0, signal: null }, `the browser completed the flow; stderr: ${opened.stderr()}`)
  t.equal(opened.stdout(), 'ory_at_code-1.sig\n', '-q prints the access token')
  rmSync(marker)

  const notOpened = await startCli(t, ['--endpoint', d.url, '--client-id', 'c', '--client-secret', 's', '-q', '--no-open'], env)
  await browse(`${notOpened.home}perform-flow`)
  t.equal((await notOpened.exit).code, 0)
  t.equal(existsSync(marker), false, '--no-open: xdg-open was not run')
})

t.test('no browser at all is not an error', async (t) => {
  const d = await double(t)
  const empty = mkdtempSync(join(tmpdir(), 'gatehouse-no-browser-'))
  t.teardown(() => rmSync(empty, { recursive: true, force: true }))
  const cli = await startCli(t, ['--endpoint', d.url, '--client-id', 'c', '--client-secret', 's'], clean({ PATH: empty }))
  await browse(`${cli.home}perform-flow`)
  t.equal((await cli.exit).code, 0, `stderr: ${cli.stderr()}`)
})

t.test('--no-shutdown serves one flow after another, each with a new state and nonce', async (t) => {
  const d = await double(t)
  const cli = await startCli(t, ['--endpoint', d.url, ...CONFIDENTIAL, '--format', 'json', '--no-shutdown'])
  t.equal((await browse(`${cli.home}perform-flow`)).status, 200)
  const second = await browse(`${cli.home}perform-flow`)
  t.equal(second.status, 200)
  t.match(second.body, `href="${cli.home}"`, 'the result page links back to the start')
  t.equal(cli.child.exitCode, null, 'still running')
  const [a, b] = d.authorizations
  t.not(a!.get('state'), b!.get('state'))
  t.not(a!.get('nonce'), b!.get('nonce'))
  t.not(a!.get('code_challenge'), b!.get('code_challenge'))
  t.same(cli.stdout().trim().split('\n').map((l) => JSON.parse(l).access_token), ['ory_at_code-1.sig', 'ory_at_code-2.sig'])
  cli.child.kill('SIGTERM')
  await cli.exit
})

t.test('--state, --redirect, --auth-url and --token-url are used as given', async (t) => {
  const d = await double(t)
  const other = await double(t)
  const cli = await startCli(t, [
    '--endpoint', d.url, '--client-id', 'c', '--client-secret', 's', '--no-open', '--state', 'fixed-state',
    '--auth-url', `${other.url}oauth2/auth?tenant=x`, '--token-url', `${other.url}oauth2/token`,
    // A redirect URI on another host (the double's /relay), which sends the browser on to this command's /callback.
    '--redirect', `${other.url}relay`,
  ])
  other.relayTo = `${cli.home}callback`
  t.equal((await browse(`${cli.home}perform-flow`)).status, 200)
  t.equal((await cli.exit).code, 0, `stderr: ${cli.stderr()}`)
  t.equal(d.authorizations.length + d.tokenRequests.length, 0, '--endpoint is not used for either')
  const auth = other.authorizations[0]!
  t.equal(auth.get('tenant'), 'x', "the --auth-url's own query is kept")
  t.equal(auth.get('state'), 'fixed-state')
  t.equal(auth.get('redirect_uri'), `${other.url}relay`)
  t.equal(other.tokenRequests[0]!.form.get('redirect_uri'), `${other.url}relay`, 'the token request repeats the redirect URI')
})

t.test('without a client id: Hydra\'s message, exit 1, nothing started', async (t) => {
  const r = await run(['perform', 'authorization-code', '--no-open'])
  t.equal(r.code, 1)
  t.equal(r.stderr, 'error: Please provide a Client ID using --client-id flag, or OAUTH2_CLIENT_ID environment variable.\n')
  t.equal(r.stdout, '')
})

t.test('OAUTH2_CLIENT_ID and OAUTH2_CLIENT_SECRET stand in for the flags', async (t) => {
  const d = await double(t)
  const cli = await startCli(t, ['--endpoint', d.url, '--no-open', '-q'], clean({ OAUTH2_CLIENT_ID: 'env-client', OAUTH2_CLIENT_SECRET: 'env-secret' }))
  await browse(`${cli.home}perform-flow`)
  t.equal((await cli.exit).code, 0)
  t.equal(d.authorizations[0]!.get('client_id'), 'env-client')
  t.equal(d.tokenRequests[0]!.authorization, `Basic ${Buffer.from('env-client:env-secret').toString('base64')}`)
})

t.test('--timeout: no answer in time is a clear error, exit 1', async (t) => {
  const d = await double(t)
  const cli = await startCli(t, ['--endpoint', d.url, ...CONFIDENTIAL, '--timeout', '50ms'])
  t.equal((await cli.exit).code, 1)
  t.match(cli.stderr(), `\nerror: no answer from the authorization server within 50ms; open ${cli.home} to start the flow, or allow more time with --timeout\n`)
})

t.test('--https: the local server speaks TLS with a fresh self-signed certificate', async (t) => {
  const d = await double(t)
  const cli = await startCli(t, ['--endpoint', d.url, ...CONFIDENTIAL, '--https'])
  t.match(cli.home, /^https:\/\/127\.0\.0\.1:\d+\/$/)
  const insecure = new Agent({ connect: { rejectUnauthorized: false } })
  t.teardown(() => insecure.close())
  await t.rejects(request(cli.home), 'not trusted by default: it is self-signed')
  const page = await browse(`${cli.home}perform-flow`, insecure)
  t.equal(page.status, 200)
  t.equal(d.authorizations[0]!.get('redirect_uri'), `${cli.home}callback`)
  t.equal((await cli.exit).code, 0)
})

t.test('the self-signed certificate: valid for 127.0.0.1 and localhost, signed by its own key', async (t) => {
  const { key, cert } = selfSignedCertificate()
  const x = new X509Certificate(cert)
  t.equal(x.checkIP('127.0.0.1'), '127.0.0.1')
  t.equal(x.checkHost('localhost'), 'localhost')
  t.ok(x.verify(x.publicKey), 'self-signed')
  t.ok(x.checkPrivateKey(createPrivateKey(key)), 'the key belongs to the certificate')
  t.ok(Date.parse(x.validFrom) <= Date.now() && Date.now() < Date.parse(x.validTo), 'valid now')
  t.not(new X509Certificate(selfSignedCertificate().cert).serialNumber, x.serialNumber, 'a new one every time')
})

t.test('a port in use: a clear error, exit 1', async (t) => {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => blocker.close())
  const port = (blocker.address() as { port: number }).port
  const r = await run(['perform', 'authorization-code', '--client-id', 'c', '--no-open', '--port', String(port)])
  t.equal(r.code, 1)
  t.equal(r.stderr, `error: cannot listen on 127.0.0.1:${port}: the port is in use; choose another with --port\n`)
})

t.test('bad flag values are refused before anything starts', async (t) => {
  for (const [args, re] of [
    [['--port', '70000'], /--port <port>' argument '70000' is invalid/],
    [['--max-age', '-2'], /--max-age <seconds>' argument '-2' is invalid/],
    [['--timeout', '5'], /missing unit/],
    [['--redirect', 'not a url'], /--redirect "not a url" is not a URL/],
    [['--auth-url', 'ftp://x/'], /--auth-url "ftp:\/\/x\/" must be an http:\/\/ or https:\/\/ URL/],
  ] as const) {
    const r = await run(['perform', 'authorization-code', '--client-id', 'c', '--no-open', ...args])
    t.equal(r.code, 1, args.join(' '))
    t.match(r.stderr, re)
  }
})

t.test('help: as `perform authorization-code` and as `token-server perform authorization-code`, with Hydra\'s flags', async (t) => {
  for (const prefix of [[], ['token-server']]) {
    const r = await run([...prefix, 'perform', 'authorization-code', '--help'])
    t.equal(r.code, 0)
    t.match(r.stdout, `Usage: gatehouse ${[...prefix, 'perform', 'authorization-code'].join(' ')}`)
    for (const flag of ['--client-id', '--client-secret', '-p, --port', '(default: 4446)', '--scope', '--prompt', '--max-age', '--audience', '--no-open', '--no-shutdown', '--state', '--redirect', '--auth-url', '--token-url', '--https', '--response-mode', '--endpoint', '--format', '--skip-tls-verify']) {
      t.match(r.stdout, flag)
    }
  }
})
