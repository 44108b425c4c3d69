import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { clean, run, start } from './helpers/cli.js'
import { rawConnection } from './helpers/raw-http.js'
import { exitOf, outputMatching, until } from './helpers/wait.js'

const SECRET = 'cli-test-system-secret-0123456789'

function tempDsn(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tscli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return `sqlite://${join(dir, 'db.sqlite')}`
}

const env = (extra: NodeJS.ProcessEnv) =>
  clean({ SECRETS_SYSTEM: SECRET, SERVE_PUBLIC_HOST: '127.0.0.1', SERVE_ADMIN_HOST: '127.0.0.1', SERVE_PUBLIC_PORT: '0', SERVE_ADMIN_PORT: '0', ...extra })

t.test('serve refuses an un-migrated database and names the command that fixes it; after migrate it serves', async (t) => {
  const dsn = tempDsn(t)
  const refused = await run(['token-server', 'serve', 'all', '--dev'], { env: env({ DSN: dsn }) })
  t.equal(refused.code, 1)
  t.match(refused.stderr, /not up to date \(0 of \d+ migrations applied\).*gatehouse token-server migrate sql/)
  t.notMatch(refused.stderr, /\n\s+at /, 'no stack trace')

  const migrated = await run(['token-server', 'migrate', 'sql', '-e', '--yes'], { env: env({ DSN: dsn }) })
  t.equal(migrated.code, 0, migrated.stderr)
  t.match(migrated.stdout, /Applied \d+ migrations?/)
  const again = await run(['token-server', 'migrate', 'sql', dsn, '--yes'], { env: env({}) })
  t.match(again.stdout, /Database is up to date/)

  const server = await start(['token-server', 'serve', 'all', '--dev'], /token server admin API listening/, { env: env({ DSN: dsn, LOG_LEVEL: 'info' }) })
  t.teardown(() => server.stop())
  const port = /"port":(\d+),"msg":"token server admin API listening"/.exec(server.output())![1]
  const ready = await request(`http://127.0.0.1:${port}/health/ready`)
  t.equal(ready.statusCode, 200)
  await ready.body.dump()
  await server.stop()
  t.equal(server.child.exitCode, 0, 'SIGTERM: a clean exit')
})

t.test('serve lists every start-up problem at once: no system secret, http issuer without --dev, bad keys', async (t) => {
  const r = await run(['token-server', 'serve'], { env: clean({ TTL_ACCESS_TOKEN: 'forever' }) })
  t.equal(r.code, 1)
  t.match(r.stderr, /invalid configuration:/)
  t.match(r.stderr, /ttl\.access_token: must be a duration/)
  const r2 = await run(['token-server', 'serve'], { env: clean({}) })
  t.equal(r2.code, 1)
  t.match(r2.stderr, /secrets\.system: no system secret is set/)
  t.match(r2.stderr, /urls\.self\.issuer: must be https:\/\/ outside development; run with --dev/)
  const dsn = await run(['token-server', 'serve', '--dev'], { env: env({ DSN: 'mysql://user:hunter2@db/x' }) })
  t.equal(dsn.code, 1)
  t.match(dsn.stderr, /dsn: .*mysql/)
  t.notMatch(dsn.stderr, /hunter2/, 'the password is never echoed')
  const which = await run(['token-server', 'serve', 'everything', '--dev'], { env: env({}) })
  t.equal(which.code, 1)
  t.match(which.stderr, /'everything' is invalid.*Allowed choices are all, public, admin/)
})

t.test('serve public / admin: only that API listens', async (t) => {
  const pub = await start(['token-server', 'serve', 'public', '--dev'], /token server public API listening/, { env: env({ LOG_LEVEL: 'info' }) })
  t.teardown(() => pub.stop())
  // Everything it logged, up to its exit: no sleep that a slow start could outlast.
  await pub.stop()
  t.match(pub.output(), /"msg":"shutting down"/)
  t.notMatch(pub.output(), /admin API listening/)
  const admin = await start(['token-server', 'serve', 'admin', '--dev'], /token server admin API listening/, { env: env({ LOG_LEVEL: 'info' }) })
  t.teardown(() => admin.stop())
  await admin.stop()
  t.match(admin.output(), /"msg":"shutting down"/)
  t.notMatch(admin.output(), /public API listening/)
})

t.test('--help on the token-server verbs', async (t) => {
  for (const args of [['token-server', '--help'], ['token-server', 'serve', '--help'], ['token-server', 'migrate', 'sql', '--help']]) {
    const r = await run(args)
    t.equal(r.code, 0, args.join(' '))
    t.match(r.stdout, /Usage: gatehouse token-server/)
  }
})

/** Migrates a fresh database, starts `serve all` and registers `n` clients (c0…, secret-0…). */
async function tokenServerWithClients(t: Test, n: number, extra: NodeJS.ProcessEnv = {}) {
  const dsn = tempDsn(t)
  // Slow hashing: every token request is still running when the signal comes.
  const e = env({ DSN: dsn, LOG_LEVEL: 'info', OAUTH2_HASHERS_PBKDF2_ITERATIONS: '100000', ...extra })
  t.equal((await run(['token-server', 'migrate', 'sql', '-e', '--yes'], { env: e })).code, 0)
  const server = await start(['token-server', 'serve', 'all', '--dev'], /token server admin API listening/, { env: e })
  t.teardown(() => server.stop())
  const ports: Record<string, number> = {}
  for (const m of server.output().matchAll(/"port":(\d+),"msg":"token server (public|admin) API listening"/g)) ports[m[2]!] = Number(m[1])
  for (let i = 0; i < n; i++) {
    const r = await request(`http://127.0.0.1:${ports.admin}/admin/clients`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: `c${i}`, client_secret: `secret-${i}`, grant_types: ['client_credentials'] }) })
    t.equal(r.statusCode, 201)
    await r.body.dump()
  }
  return { server, publicPort: ports.public!, adminPort: ports.admin! }
}

/** Token requests the public API has received: in flight now plus answered. */
async function receivedTokenRequests(adminPort: number): Promise<number> {
  const r = await request(`http://127.0.0.1:${adminPort}/admin/metrics/prometheus`)
  const text = await r.body.text()
  const inFlight = /^gatehouse_token_server_http_requests_in_flight\{api="public"\} (\d+)$/m.exec(text)
  const answered = [...text.matchAll(/^gatehouse_token_server_http_requests_total\{api="public",route="\/oauth2\/token"[^}]*\} (\d+)$/gm)]
  return Number(inFlight?.[1] ?? 0) + answered.reduce((sum, m) => sum + Number(m[1]), 0)
}

/** A client-credentials token request for client `i`, as raw HTTP/1.1 (keep-alive). */
function tokenRequest(i: number): string {
  const body = 'grant_type=client_credentials'
  const basic = Buffer.from(`c${i}:secret-${i}`).toString('base64')
  return `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ${basic}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`
}

t.test('SIGTERM under load: in-flight token requests all complete, then a clean exit', async (t) => {
  // Default shutdown_delay (0s): even without a delay, nothing sent before the signal is reset.
  const n = 24
  // A grace no busy machine's hashing outlasts (24 × 100,000 PBKDF2 rounds can take longer than
  // the default 10 s when the cores are shared): the test is about what is answered, not when.
  const { server, publicPort, adminPort } = await tokenServerWithClients(t, n, { SERVE_SHUTDOWN_GRACE: '120s' })
  // Each request on its own fresh connection, as a load balancer opens them.
  const exchanges = Array.from({ length: n }, (_, i) => rawConnection(publicPort).request(tokenRequest(i)))
  await Promise.all(exchanges.map((e) => e.sent))
  // The signal comes once the server has received every request (in flight or answered): a
  // connection still in the kernel's queue when the listener closes is reset, and how fast a
  // busy server takes them up is not what this test is about (serve.shutdown_delay is).
  await until(async () => (await receivedTokenRequests(adminPort)) >= n, `the server to receive all ${n} token requests`)
  const exited = exitOf(server.child)
  server.child.kill('SIGTERM')
  const results = await Promise.all(
    exchanges.map((e) =>
      e.response.then(
        (r) => ({ status: r.status, body: r.body }),
        (err: Error) => ({ status: 0, body: err.message }),
      ),
    ),
  )
  t.same(results.filter((r) => r.status !== 200), [], `all ${n} in-flight requests answered 200`)
  t.same(await exited, { code: 0, signal: null }, 'exit 0')
})

t.test('serve.shutdown_delay: /health/ready answers 503 at once, requests are still answered, idle keep-alive stays open until the delay ends', async (t) => {
  const { server, publicPort, adminPort } = await tokenServerWithClients(t, 1, { SERVE_SHUTDOWN_DELAY: '60s' })
  // Kept alive from before the signal, idle at it (a load balancer's pooled connection).
  const pooled = rawConnection(publicPort)
  const first = pooled.request('GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n')
  t.equal((await first.response).status, 200, 'ready before the signal')
  server.child.kill('SIGTERM')
  await outputMatching(server.child, server.output, /"msg":"shutting down"/)
  for (const port of [publicPort, adminPort]) {
    const ready = await request(`http://127.0.0.1:${port}/health/ready`)
    t.equal(ready.statusCode, 503, `/health/ready on ${port === publicPort ? 'public' : 'admin'}: 503`)
    t.same(await ready.body.json(), { errors: { shutdown: 'the token server is shutting down' } })
  }
  t.equal((await request(`http://127.0.0.1:${publicPort}/health/alive`)).statusCode, 200, 'still alive')
  // A new connection during the delay is accepted and answered.
  const late = await rawConnection(publicPort).request(tokenRequest(0)).response
  t.equal(late.status, 200, 'a token request sent during the delay is answered')
  t.equal(late.headers.connection, 'close')
  // The pooled connection still works, and is closed after its answer.
  const again = pooled.request(tokenRequest(0))
  t.equal((await again.response).status, 200, 'a request on a pooled connection during the delay is answered')
  await pooled.closed
  // A second signal ends the wait at once, as before.
  const exited = exitOf(server.child)
  server.child.kill('SIGTERM')
  t.equal((await exited).code, 1, 'a second signal exits at once')
})
