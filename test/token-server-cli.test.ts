import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { clean, run, start } from './helpers/cli.js'

const SECRET = 'cli-test-system-secret-0123456789'

function tempDsn(t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tscli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return `sqlite://${join(dir, 'db.sqlite')}`
}
type Tap = Parameters<Parameters<typeof t.test>[1]>[0]

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
  await new Promise((r) => setTimeout(r, 200))
  t.notMatch(pub.output(), /admin API listening/)
  await pub.stop()
  const admin = await start(['token-server', 'serve', 'admin', '--dev'], /token server admin API listening/, { env: env({ LOG_LEVEL: 'info' }) })
  t.teardown(() => admin.stop())
  await new Promise((r) => setTimeout(r, 200))
  t.notMatch(admin.output(), /public API listening/)
})

t.test('--help on the token-server verbs', async (t) => {
  for (const args of [['token-server', '--help'], ['token-server', 'serve', '--help'], ['token-server', 'migrate', 'sql', '--help']]) {
    const r = await run(args)
    t.equal(r.code, 0, args.join(' '))
    t.match(r.stdout, /Usage: gatehouse token-server/)
  }
})

t.test('SIGTERM under load: in-flight token requests all complete, then a clean exit', async (t) => {
  const dsn = tempDsn(t)
  const e = env({ DSN: dsn, LOG_LEVEL: 'info', OAUTH2_HASHERS_PBKDF2_ITERATIONS: '100000' })
  t.equal((await run(['token-server', 'migrate', 'sql', '-e', '--yes'], { env: e })).code, 0)
  const server = await start(['token-server', 'serve', 'all', '--dev'], /token server admin API listening/, { env: e })
  t.teardown(() => server.stop())
  const ports: Record<string, string> = {}
  for (const m of server.output().matchAll(/"port":(\d+),"msg":"token server (public|admin) API listening"/g)) ports[m[2]!] = m[1]!
  const admin = `http://127.0.0.1:${ports.admin}`
  const pub = `http://127.0.0.1:${ports.public}`
  // Distinct clients, so every request pays a real (slow) PBKDF2 and is still running at SIGTERM.
  const n = 24
  for (let i = 0; i < n; i++) {
    const r = await request(`${admin}/admin/clients`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: `c${i}`, client_secret: `secret-${i}`, grant_types: ['client_credentials'] }) })
    t.equal(r.statusCode, 201)
    await r.body.dump()
  }
  const inflight = Array.from({ length: n }, (_, i) =>
    request(`${pub}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`c${i}:secret-${i}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }), (err: Error) => ({ status: 0, body: err.message })),
  )
  await new Promise((r) => setTimeout(r, 50))
  const exited = new Promise<number | null>((r) => server.child.once('exit', (code) => r(code)))
  server.child.kill('SIGTERM')
  const results = await Promise.all(inflight)
  t.same(results.filter((r) => r.status !== 200), [], `all ${n} in-flight requests answered 200`)
  t.equal(await exited, 0, 'exit 0')
})
