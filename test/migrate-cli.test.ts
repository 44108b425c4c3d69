import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { migrateCommand, migrateSqlCommand, runMigrateDown, runMigrateSql, runMigrateStatus, type MigrateIo } from '../src/cli/migrate.js'
import { parseFormat } from '../src/cli/hydra/output.js'
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
  t.match(io.out(), /^5 migrations pending:\n {2}1 {2}create_clients\n {2}2 {2}create_access_tokens\n {2}3 {2}create_keys\n {2}4 {2}add_grant_id_token_use\n {2}5 {2}create_oidc_records\nApplied 5 migrations\n$/)
  t.equal(io.err(), '')
  t.equal(await applied(dsn), 5)
  const again = fakeIo()
  t.equal(await runMigrateSql({ dsn, readFromEnv: false, yes: true }, again), 0)
  t.equal(again.out(), 'Database is up to date\n')
})

t.test('-e reads the DSN from the environment; errors when it is missing, or when none is given', async (t) => {
  const dsn = tempSqlite(t)
  const io = fakeIo({ env: { DSN: dsn } })
  t.equal(await runMigrateSql({ readFromEnv: true, yes: true }, io), 0)
  t.match(io.out(), /Applied 5 migrations/)

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
  t.match(io.out(), /5 migrations pending/)
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
    ['y\n', 0, 5],
    ['YES\n', 0, 5],
    ['n\n', 1, 0],
    ['\n', 1, 0],
    [null, 1, 0],
  ] as const) {
    const dsn = tempSqlite(t)
    const io = fakeIo({ tty: true })
    const run = runMigrateSql({ dsn, readFromEnv: false, yes: false }, io)
    setImmediate(() => (answer === null ? io.stdin.end() : io.stdin.write(answer)))
    t.equal(await run, code, `answer ${JSON.stringify(answer)}`)
    t.match(io.out(), /Apply 5 migrations\? \[y\/N\] /)
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
  t.match(io.out(), /Applied 5 migrations\n$/)
  const tables = await adminQuery<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema])
  t.same(
    tables.map((r) => r.table_name),
    ['gatehouse_access_tokens', 'gatehouse_clients', 'gatehouse_keys', 'gatehouse_migrations', 'gatehouse_oidc_records'],
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
  await migrateSqlCommand(io).exitOverride().parseAsync(['-e', '--yes'], { from: 'user' })
  t.equal(process.exitCode, 0)
  t.match(io.out(), /Applied 5 migrations/)
  await migrateSqlCommand(io).exitOverride().parseAsync([dsn, '-y'], { from: 'user' })
  t.equal(process.exitCode, 0)
  await migrateSqlCommand(io).exitOverride().parseAsync([dsn], { from: 'user' })
  t.equal(process.exitCode, 0, 'up to date: no confirmation needed')
  await migrateSqlCommand(io).exitOverride().parseAsync([], { from: 'user' })
  t.equal(process.exitCode, 1)
  t.match(io.err(), /no DSN given/)
  process.exitCode = saved
})

t.test('Hydra 2.x sub-verbs: `sql up -e --yes` (flags before or after the sub-verb), `sql up DSN`; `up` is never taken for a DSN', async (t) => {
  const saved = process.exitCode
  t.teardown(() => void (process.exitCode = saved))
  const dsn = tempSqlite(t)
  const io = fakeIo({ env: { DSN: dsn } })
  await migrateCommand(io).exitOverride().parseAsync(['sql', 'up', '-e', '--yes'], { from: 'user' })
  t.equal(process.exitCode, 0, io.err())
  t.match(io.out(), /Applied 5 migrations\n$/)
  t.equal(await applied(dsn), 5)

  const again = fakeIo({ env: { DSN: dsn } })
  await migrateCommand(again).exitOverride().parseAsync(['sql', '-e', 'up', '-y'], { from: 'user' })
  t.equal(process.exitCode, 0)
  t.equal(again.out(), 'Database is up to date\n')

  const other = tempSqlite(t)
  const byArg = fakeIo()
  await migrateCommand(byArg).exitOverride().parseAsync(['sql', 'up', other, '--yes'], { from: 'user' })
  t.equal(process.exitCode, 0, byArg.err())
  t.equal(await applied(other), 5)

  const noEnv = fakeIo()
  await migrateCommand(noEnv).exitOverride().parseAsync(['sql', 'up', '-e', '--yes'], { from: 'user' })
  t.equal(process.exitCode, 1)
  t.equal(noEnv.err(), 'error: -e was given but the environment variable DSN is not set\n', 'not "unsupported DSN scheme" for "up"')
  process.exitCode = saved
})

t.test('status: Hydra\'s Version/Name/Status table, --format json; `migrate status` too', async (t) => {
  const saved = process.exitCode
  t.teardown(() => void (process.exitCode = saved))
  const dsn = tempSqlite(t)
  const fresh = fakeIo()
  t.equal(await runMigrateStatus({ dsn, readFromEnv: false, format: parseFormat('table'), block: false }, fresh), 0)
  t.equal(fresh.out(), 'Version\tName\t\t\tStatus\t\n1\tcreate_clients\t\tPending\t\n2\tcreate_access_tokens\tPending\t\n3\tcreate_keys\t\tPending\t\n4\tadd_grant_id_token_use\tPending\t\n5\tcreate_oidc_records\tPending\t\n')
  await runMigrateSql({ dsn, readFromEnv: false, yes: true }, fakeIo())
  const io = fakeIo({ env: { DSN: dsn } })
  await migrateCommand(io).exitOverride().parseAsync(['sql', 'status', '-e', '--format', 'json'], { from: 'user' })
  t.equal(process.exitCode, 0)
  t.same(JSON.parse(io.out()), [
    { version: '1', name: 'create_clients', state: 'Applied' },
    { version: '2', name: 'create_access_tokens', state: 'Applied' },
    { version: '3', name: 'create_keys', state: 'Applied' },
    { version: '4', name: 'add_grant_id_token_use', state: 'Applied' },
    { version: '5', name: 'create_oidc_records', state: 'Applied' },
  ])
  const old = fakeIo()
  await migrateCommand(old).exitOverride().parseAsync(['status', dsn], { from: 'user' })
  t.match(old.out(), /^Version\tName\t+Status\t\n1\tcreate_clients\t+Applied\t\n/)
  process.exitCode = saved
})

t.test('status --block waits until another process has applied the migrations', async (t) => {
  const dsn = tempSqlite(t)
  const io = fakeIo()
  // The status check sees "pending" first; only after its first wait does the migration run, so
  // the order does not depend on timing.
  const waiting = runMigrateStatus({ dsn, readFromEnv: false, format: parseFormat('table'), block: true, pollMs: 1 }, io)
  while (!io.out().includes('Waiting for migrations to finish...')) await new Promise((r) => setImmediate(r))
  t.match(io.out(), /^Waiting for migrations to finish\.\.\.\n - create_clients\n - create_access_tokens\n - create_keys\n - add_grant_id_token_use\n - create_oidc_records\n/)
  await runMigrateSql({ dsn, readFromEnv: false, yes: true }, fakeIo())
  t.equal(await waiting, 0)
  t.match(io.out(), /5\tcreate_oidc_records\t+Applied\t\n$/)
})

t.test('down --steps N rolls back the newest N migrations (tables dropped); up re-applies them', async (t) => {
  const dsn = tempSqlite(t)
  await runMigrateSql({ dsn, readFromEnv: false, yes: true }, fakeIo())
  const io = fakeIo()
  t.equal(await runMigrateDown({ dsn, readFromEnv: false, yes: true, steps: 4 }, io), 0, io.err())
  t.equal(io.out(), '4 migrations to roll back (their tables and data are dropped):\n  5  create_oidc_records\n  4  add_grant_id_token_use\n  3  create_keys\n  2  create_access_tokens\nRolled back 4 migrations\n')
  t.equal(await applied(dsn), 1)
  const store = openStore(dsn)
  t.teardown(() => store.close())
  await t.rejects(store.listKeys('x'), 'the keys table is gone')

  const refuse = fakeIo()
  t.equal(await runMigrateDown({ dsn, readFromEnv: false, yes: false, steps: 1 }, refuse), 1)
  t.match(refuse.err(), /refusing to roll back migrations without confirmation: stdin is not a terminal; pass --yes/)
  const noSteps = fakeIo()
  t.equal(await runMigrateDown({ dsn, readFromEnv: false, yes: true, steps: 0 }, noSteps), 1)
  t.match(noSteps.err(), /nothing to roll back: give the number of migrations to undo with --steps/)
  const tooMany = fakeIo()
  t.equal(await runMigrateDown({ dsn, readFromEnv: false, yes: true, steps: 10 }, tooMany), 0)
  t.match(tooMany.out(), /Rolled back 1 migration\n$/)
  t.equal(await applied(dsn), 0)

  const up = fakeIo()
  t.equal(await runMigrateSql({ dsn, readFromEnv: false, yes: true }, up), 0)
  t.match(up.out(), /Applied 5 migrations/)
})

t.test('down through commander: `migrate sql down DSN --steps 1 --yes`', async (t) => {
  const saved = process.exitCode
  t.teardown(() => void (process.exitCode = saved))
  const dsn = tempSqlite(t)
  await runMigrateSql({ dsn, readFromEnv: false, yes: true }, fakeIo())
  const io = fakeIo()
  await migrateCommand(io).exitOverride().parseAsync(['sql', 'down', dsn, '--steps', '1', '--yes'], { from: 'user' })
  t.equal(process.exitCode, 0, io.err())
  t.equal(await applied(dsn), 4)
  process.exitCode = saved
})

t.test('postgres: down rolls back in the schema; up applies again', async (t) => {
  const schema = uniqueSchema()
  t.teardown(async () => void (await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)))
  const dsn = postgresDsn({ sslmode: 'disable', search_path: schema })
  t.equal(await runMigrateSql({ dsn, readFromEnv: false, yes: true }, fakeIo()), 0)
  const io = fakeIo()
  t.equal(await runMigrateDown({ dsn, readFromEnv: false, yes: true, steps: 4 }, io), 0, io.err())
  const tables = await adminQuery<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema])
  t.same(tables.map((r) => r.table_name), ['gatehouse_clients', 'gatehouse_migrations'])
  t.equal(await applied(dsn), 1)
  t.equal(await runMigrateSql({ dsn, readFromEnv: false, yes: true }, fakeIo()), 0)
  t.equal(await applied(dsn), 5)
})
