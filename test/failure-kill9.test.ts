// Failure behaviour: kill -9 of the token server right after it answered 200 on /oauth2/token.
// Real processes (the built CLI): every token a client received is active after the restart,
// on SQLite and on Postgres. A 200 means the token is durable.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { clean, run, start } from './helpers/cli.js'
import { adminQuery, postgresDsn, uniqueSchema } from './helpers/stores.js'

const SECRET = 'kill9-test-system-secret-0123456789'

const env = (dsn: string): NodeJS.ProcessEnv =>
  clean({
    DSN: dsn,
    SECRETS_SYSTEM: SECRET,
    SERVE_PUBLIC_HOST: '127.0.0.1',
    SERVE_ADMIN_HOST: '127.0.0.1',
    SERVE_PUBLIC_PORT: '0',
    SERVE_ADMIN_PORT: '0',
    LOG_LEVEL: 'info',
    OAUTH2_HASHERS_PBKDF2_ITERATIONS: '1000',
  })

async function serve(dsn: string) {
  const server = await start(['token-server', 'serve', 'all', '--dev'], /token server admin API listening/, { env: env(dsn) })
  const ports: Record<string, string> = {}
  for (const m of server.output().matchAll(/"port":(\d+),"msg":"token server (public|admin) API listening"/g)) ports[m[2]!] = m[1]!
  return { ...server, public: `http://127.0.0.1:${ports.public}`, admin: `http://127.0.0.1:${ports.admin}` }
}

const CASES: readonly { name: string; dsn(t: Test): string }[] = [
  {
    name: 'sqlite',
    dsn(t) {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-kill9-'))
      t.teardown(() => rmSync(dir, { recursive: true, force: true }))
      return `sqlite://${join(dir, 'db.sqlite')}`
    },
  },
  {
    name: 'postgres',
    dsn(t) {
      const schema = uniqueSchema()
      t.teardown(async () => void (await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)))
      return postgresDsn({ sslmode: 'disable', search_path: schema })
    },
  },
]

for (const c of CASES) {
  t.test(`kill -9 right after 200s from /oauth2/token: every token received is active after the restart [${c.name}]`, { timeout: 60_000 }, async (t) => {
    const dsn = c.dsn(t)
    const migrated = await run(['token-server', 'migrate', 'sql', '-e', '--yes'], { env: env(dsn) })
    t.equal(migrated.code, 0, migrated.stderr)

    const first = await serve(dsn)
    t.teardown(() => first.stop())
    const created = await request(`${first.admin}/admin/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'svc', client_secret: 'secret-svc', grant_types: ['client_credentials'] }),
    })
    t.equal(created.statusCode, 201)
    await created.body.dump()

    // 8 clients request tokens as fast as they can; the server is killed the moment the 60th
    // 200 has been read, while the others are in flight (some of them mid-commit).
    const agent = new Agent({ connections: 8 })
    t.teardown(() => agent.close())
    const received: string[] = []
    const killAfter = 60
    let killed = false
    const exited = new Promise<NodeJS.Signals | null>((r) => first.child.once('exit', (_code, signal) => r(signal)))
    const loops = Array.from({ length: 8 }, async () => {
      while (!killed) {
        try {
          const res = await request(`${first.public}/oauth2/token`, {
            dispatcher: agent,
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('svc:secret-svc').toString('base64')}` },
            body: 'grant_type=client_credentials',
          })
          const body = (await res.body.json()) as { access_token?: string }
          if (res.statusCode !== 200 || body.access_token === undefined) continue
          received.push(body.access_token)
          if (received.length >= killAfter && !killed) {
            // Same tick as reading the 200: nothing else runs in between.
            first.child.kill('SIGKILL')
            killed = true
          }
        } catch {
          // Connections cut by the kill.
          if (killed) return
        }
      }
    })
    await Promise.all(loops)
    t.equal(await exited, 'SIGKILL', 'the token server was killed, not stopped')
    t.ok(received.length >= killAfter, `${received.length} tokens were received before the kill`)

    const second = await serve(dsn)
    t.teardown(() => second.stop())
    const answers = await Promise.all(
      received.map(async (token) => {
        const res = await request(`${second.admin}/admin/oauth2/introspect`, {
          dispatcher: agent,
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token }).toString(),
        })
        return (await res.body.json()) as { active: boolean; client_id?: string }
      }),
    )
    const inactive = answers.filter((a) => a.active !== true || a.client_id !== 'svc').length
    t.equal(inactive, 0, `all ${received.length} tokens introspect as active after the restart`)
    await second.stop()
    t.equal(second.child.exitCode, 0)
  })
}
