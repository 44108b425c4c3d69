import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { migrateCommand, runMigrateSql, type MigrateIo } from '../src/cli/migrate.js'
import { openStore } from '../src/token-server/store/open.js'
import { adminQuery, postgresDsn, uniqueSchema } from './helpers/stores.js'

interface FakeIo extends MigrateIo {
  readonly stdin: PassThrough & { isTTY?: boolean }
  out(): string
  err(): string
}

function fakeIo(opts: { env?: NodeJS.ProcessEnv; tty?: boolean } = {}): FakeIo {
  let out = ''
  let err = ''
  const sink = (append: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        append(chunk.toString())
        done()
      },
    })
  const stdin: PassThrough & { isTTY?: boolean } = new PassThrough()
  if (opts.tty === true) stdin.isTTY = true
  return {
    env: opts.env ?? {},
    stdin,
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    out: () => out,
    err: () => err,
  }
}

function tempSqlite(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-migrate-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return `sqlite://${join(dir, 'db.sqlite')}`
}

async function applied(dsn: string): Promise<number> {
  const store = openStore(dsn)
  try {
    return (await store.migrationStatus()).applied
  } finally {
    await store.close()
  }
}

t.test('--yes on a fresh database lists and applies every migration; a second run is up to date', async (t) => {
  const dsn = tempSqlite(t)
  const io = fakeIo()
  t.equal(await runMigrateSql({ dsn, readFromEnv: false, yes: true }, io), 0)
  t.match(io.out(), /^3 migrations pending:\n {2}1 {2}create_clients\n {2}2 {2}create_access_tokens\n {2}3 {2}create_keys\nApplied 3 migrations\n$/)
  t.equal(io.err(), '')
  t.equal(await applied(dsn), 3)
  const again = fakeIo()
  t.equal(await runMigrateSql({ dsn, readFromEnv: false, yes: true }, again), 0)
  t.equal(again.out(), 'Database is up to date\n')
})

t.test('-e reads the DSN from the environment; errors when it is missing, or when none is given', async (t) => {
  const dsn = tempSqlite(t)
  const io = fakeIo({ env: { DSN: dsn } })
  t.equal(await runMigrateSql({ readFromEnv: true, yes: true }, io), 0)
  t.match(io.out(), /Applied 3 migrations/)

  const cases: [Parameters<typeof runMigrateSql>[0], NodeJS.ProcessEnv, RegExp][] = [
    [{ readFromEnv: true, yes: true }, {}, /^error: -e was given but the environment variable DSN is not set\n$/],
    [{ readFromEnv: false, yes: true }, { DSN: dsn }, /^error: no DSN given: pass it as an argument, or set the environment variable DSN and pass -e\n$/],
    [{ dsn, readFromEnv: true, yes: true }, { DSN: dsn }, /^error: give the DSN either as an argument or with -e/],
  ]
  for (const [opts, env, re] of cases) {
    const bad = fakeIo({ env })
    t.equal(await runMigrateSql(opts, bad), 1)
    t.match(bad.err(), re)
    t.equal(bad.out(), '')
  }
})

t.test('without --yes and without a terminal it refuses, applies nothing, and says to pass --yes', async (t) => {
  const dsn = tempSqlite(t)
  const io = fakeIo()
  t.equal(await runMigrateSql({ dsn, readFromEnv: false, yes: false }, io), 1)
  t.match(io.out(), /3 migrations pending/)
  t.match(io.err(), /^error: refusing to apply migrations without confirmation: stdin is not a terminal; pass --yes\n$/)
  t.equal(await applied(dsn), 0)
})

t.test('nothing pending needs no confirmation, even without a terminal', async (t) => {
  const dsn = tempSqlite(t)
  await runMigrateSql({ dsn, readFromEnv: false, yes: true }, fakeIo())
  const io = fakeIo()
  t.equal(await runMigrateSql({ dsn, readFromEnv: false, yes: false }, io), 0)
  t.equal(io.out(), 'Database is up to date\n')
})

t.test('on a terminal it asks; "y" applies, anything else or end of input aborts', async (t) => {
  for (const [answer, code, n] of [
    ['y\n', 0, 3],
    ['YES\n', 0, 3],
    ['n\n', 1, 0],
    ['\n', 1, 0],
    [null, 1, 0],
  ] as const) {
    const dsn = tempSqlite(t)
    const io = fakeIo({ tty: true })
    const run = runMigrateSql({ dsn, readFromEnv: false, yes: false }, io)
    setImmediate(() => (answer === null ? io.stdin.end() : io.stdin.write(answer)))
    t.equal(await run, code, `answer ${JSON.stringify(answer)}`)
    t.match(io.out(), /Apply 3 migrations\? \[y\/N\] /)
    t.equal(await applied(dsn), n)
    if (code === 1) t.equal(io.err(), 'Aborted: no migrations applied\n')
  }
})

t.test('failures are one line on stderr, exit 1, no stack trace, no password', async (t) => {
  for (const [dsn, re] of [
    ['postgres://gatehouse:hunter2@127.0.0.1:1/hydra?sslmode=disable&connect_timeout=2', /^error: the Postgres database is unavailable: .*ECONNREFUSED.*\n$/],
    ['mysql://root:hunter2@db/hydra', /^error: unsupported DSN scheme "mysql"; supported: .*\n$/],
    ['postgres://u:hunter2@db/h?max_conns=none', /^error: the Postgres DSN parameter max_conns must be an integer >= 1, got "none"\n$/],
  ] as const) {
    const io = fakeIo()
    t.equal(await runMigrateSql({ dsn, readFromEnv: false, yes: true }, io), 1, dsn)
    t.match(io.err(), re)
    t.notMatch(io.err(), /hunter2|\n\s+at /)
  }
})

t.test('postgres: migrates a fresh schema (created on the way), then is up to date', async (t) => {
  const schema = uniqueSchema()
  t.teardown(async () => void (await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)))
  const dsn = postgresDsn({ sslmode: 'disable', search_path: schema })
  const io = fakeIo()
  t.equal(await runMigrateSql({ dsn, readFromEnv: false, yes: true }, io), 0)
  t.match(io.out(), /Applied 3 migrations\n$/)
  const tables = await adminQuery<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema])
  t.same(
    tables.map((r) => r.table_name),
    ['gatehouse_access_tokens', 'gatehouse_clients', 'gatehouse_keys', 'gatehouse_migrations'],
  )
  const again = fakeIo()
  t.equal(await runMigrateSql({ dsn, readFromEnv: false, yes: true }, again), 0)
  t.equal(again.out(), 'Database is up to date\n')
})

t.test('the commander command: `sql <dsn> -y`, `sql -e --yes`; sets the exit code', async (t) => {
  const saved = process.exitCode
  t.teardown(() => void (process.exitCode = saved))
  const dsn = tempSqlite(t)
  const io = fakeIo({ env: { DSN: dsn } })
  await migrateCommand(io).exitOverride().parseAsync(['-e', '--yes'], { from: 'user' })
  t.equal(process.exitCode, 0)
  t.match(io.out(), /Applied 3 migrations/)
  await migrateCommand(io).exitOverride().parseAsync([dsn, '-y'], { from: 'user' })
  t.equal(process.exitCode, 0)
  await migrateCommand(io).exitOverride().parseAsync([dsn], { from: 'user' })
  t.equal(process.exitCode, 0, 'up to date: no confirmation needed')
  await migrateCommand(io).exitOverride().parseAsync([], { from: 'user' })
  t.equal(process.exitCode, 1)
  t.match(io.err(), /no DSN given/)
  process.exitCode = saved
})
