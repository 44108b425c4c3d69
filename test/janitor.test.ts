import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { janitorCommand, runJanitor, type JanitorIo } from '../src/cli/janitor.js'
import { createLogger } from '../src/observability/logger.js'
import { startJanitor } from '../src/token-server/janitor.js'
import { MemoryStore } from '../src/token-server/store/memory.js'
import { openStore } from '../src/token-server/store/open.js'
import type { OidcRecord } from '../src/token-server/oidc/records.js'
import type { Store, TokenRecord } from '../src/token-server/store/types.js'
import { until } from './helpers/wait.js'

const token = (hash: string, expiresAt: number): TokenRecord => ({
  signature_hash: hash,
  grant_id: hash,
  token_use: 'access_token',
  client_id: 'c',
  subject: 'c',
  scope: [],
  audience: [],
  strategy: 'opaque',
  issued_at: 0,
  expires_at: expiresAt,
  ext: {},
})

t.test('the janitor purges every expired token in small batches and leaves live ones', async (t) => {
  const store = new MemoryStore()
  const now = Math.floor(Date.now() / 1000)
  for (let i = 0; i < 7; i++) await store.insertToken(token(`expired-${i}`, now - 10))
  await store.insertToken(token('live', now + 3600))
  const calls: number[] = []
  const purge = store.purgeExpiredTokens.bind(store)
  store.purgeExpiredTokens = async (n, limit) => {
    const done = await purge(n, limit)
    calls.push(done)
    return done
  }
  const stop = startJanitor(store, createLogger({ level: 'silent', format: 'json' }), 20, 3)
  t.teardown(stop)
  // A batch that comes back short ends the purge.
  await until(() => calls.some((n) => n < 3), 'a purge to finish')
  for (let i = 0; i < 7; i++) t.equal(await store.getToken(`expired-${i}`), undefined)
  t.ok(await store.getToken('live'))
  t.same(calls.slice(0, 3), [3, 3, 1], 'batches of at most 3 until one comes back short')
})

const oidcRecord = (id: string, expiresAt: number): OidcRecord => ({ model: 'auth_code', id, payload: {}, expires_at: expiresAt, client_id: 'c' })

t.test('the janitor purges expired OpenID Connect records too, in small batches', async (t) => {
  const store = new MemoryStore()
  const now = Math.floor(Date.now() / 1000)
  for (let i = 0; i < 7; i++) await store.oidc.upsert(oidcRecord(`expired-${i}`, now - 10))
  await store.oidc.upsert(oidcRecord('live', now + 3600))
  const calls: number[] = []
  const purge = store.oidc.purgeExpired.bind(store.oidc)
  store.oidc.purgeExpired = async (n, limit) => {
    const done = await purge(n, limit)
    calls.push(done)
    return done
  }
  const stop = startJanitor(store, createLogger({ level: 'silent', format: 'json' }), 20, 3)
  t.teardown(stop)
  await until(() => calls.some((n) => n < 3), 'a purge of records to finish')
  for (let i = 0; i < 7; i++) t.equal(await store.oidc.find('auth_code', `expired-${i}`, now - 20), undefined, `expired-${i} deleted, not just hidden`)
  t.ok(await store.oidc.find('auth_code', 'live', now))
  t.same(calls.slice(0, 3), [3, 3, 1], 'batches of at most 3 until one comes back short')
})

t.test('a failing token purge does not keep the records from being purged', async (t) => {
  const store = new MemoryStore()
  const now = Math.floor(Date.now() / 1000)
  await store.oidc.upsert(oidcRecord('expired', now - 10))
  store.purgeExpiredTokens = async () => {
    throw new Error('database is locked')
  }
  const lines: string[] = []
  const sink = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) })
  const stop = startJanitor(store, createLogger({ level: 'warn', format: 'json' }, sink), 20, 10)
  t.teardown(stop)
  await until(async () => (await store.oidc.find('auth_code', 'expired', now - 20)) === undefined, 'the expired record to be purged')
  t.match(lines[0], /could not purge expired access tokens; will retry/)
})

t.test('a failing purge is logged and retried, never thrown', async (t) => {
  const store = new MemoryStore()
  let attempts = 0
  store.purgeExpiredTokens = async () => {
    attempts++
    throw new Error('database is locked')
  }
  const lines: string[] = []
  const { Writable } = await import('node:stream')
  const sink = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) })
  const stop = startJanitor(store, createLogger({ level: 'warn', format: 'json' }, sink), 20, 10)
  t.teardown(stop)
  await until(() => attempts >= 2, 'a second attempt')
  t.ok(attempts >= 2, `retried (${attempts} attempts)`)
  t.match(lines[0], /could not purge expired access tokens; will retry/)
})

/** `gatehouse janitor`: Hydra's explicit purge, over a real SQLite file. */
t.test('janitor --tokens deletes expired tokens only, honouring --keep-if-younger, --limit and --batch-size', async (t) => {
  const { dsn, io, store } = await sqliteCase(t)
  const now = 1_800_000_000
  for (let i = 0; i < 5; i++) await store.insertToken(token(`old-${i}`, now - 7200))
  for (let i = 0; i < 2; i++) await store.insertToken(token(`recent-${i}`, now - 60))
  await store.insertToken(token('live', now + 3600))
  const base = { dsn, readFromEnv: false, config: [], tokens: true, requests: false, grants: false, limit: 10000, batchSize: 100 }

  // Expired less than an hour ago: kept. At most 3, two per statement.
  const first = io(now)
  t.equal(await runJanitor({ ...base, keepIfYounger: 3_600_000, limit: 3, batchSize: 2 }, first), 0)
  t.equal(
    first.out(),
    'Successfully completed Janitor run on access and refresh tokens (3 deleted)\nSuccessfully completed Janitor run on login-consent requests, sessions, codes and refresh state (0 deleted)\n',
  )
  t.equal(await remaining(store, ['old-0', 'old-1', 'old-2', 'old-3', 'old-4']), 2, 'the limit stopped it')
  t.equal(await remaining(store, ['recent-0', 'recent-1']), 2, 'younger than --keep-if-younger: kept')

  const second = io(now)
  t.equal(await runJanitor({ ...base, keepIfYounger: 3_600_000 }, second), 0)
  t.match(second.out(), /access and refresh tokens \(2 deleted\)/)
  t.equal(await remaining(store, ['old-0', 'old-1', 'old-2', 'old-3', 'old-4']), 0)
  t.equal(await remaining(store, ['recent-0', 'recent-1']), 2, 'still younger than --keep-if-younger: kept')

  const third = io(now)
  t.equal(await runJanitor({ ...base, keepIfYounger: 0 }, third), 0)
  t.match(third.out(), /access and refresh tokens \(2 deleted\)/)
  t.equal(await remaining(store, ['recent-0', 'recent-1']), 0)
  t.ok(await store.getToken('live'), 'a live token is never touched')
})

t.test('janitor --requests deletes expired OpenID Connect records only, honouring --keep-if-younger, --limit and --batch-size', async (t) => {
  const { dsn, io, store } = await sqliteCase(t)
  const now = 1_800_000_000
  for (let i = 0; i < 5; i++) await store.oidc.upsert(oidcRecord(`old-${i}`, now - 7200))
  await store.oidc.upsert(oidcRecord('recent', now - 60))
  await store.oidc.upsert(oidcRecord('live', now + 3600))
  await store.insertToken(token('old-token', now - 7200))
  const base = { dsn, readFromEnv: false, config: [], tokens: false, requests: true, grants: false, keepIfYounger: 3_600_000 }
  const left = async (): Promise<string[]> => (await store.oidc.findBy('auth_code', { client_id: 'c' }, 0)).map((r) => r.id)

  const first = io(now)
  t.equal(await runJanitor({ ...base, limit: 3, batchSize: 2 }, first), 0)
  t.equal(first.out(), 'Successfully completed Janitor run on login-consent requests, sessions, codes and refresh state (3 deleted)\n')
  t.equal((await left()).length, 4, 'the limit stopped it')
  const second = io(now)
  t.equal(await runJanitor({ ...base, limit: 100, batchSize: 2 }, second), 0)
  t.match(second.out(), /\(2 deleted\)/)
  t.same(await left(), ['recent', 'live'], 'younger than --keep-if-younger: kept')
  t.ok(await store.getToken('old-token'), '--requests alone leaves tokens')
  t.equal(await runJanitor({ ...base, keepIfYounger: 0, limit: 100, batchSize: 100 }, io(now)), 0)
  t.same(await left(), ['live'], 'a live record is never touched')
})

t.test('janitor: --requests on an empty database, --grants has nothing to purge; the DSN from -e or -c; Hydra\'s argument errors', async (t) => {
  const { dsn, io, dir } = await sqliteCase(t)
  const base = { readFromEnv: false, config: [] as string[], tokens: false, requests: true, grants: true, keepIfYounger: 0, limit: 10, batchSize: 5 }
  const first = io()
  t.equal(await runJanitor({ ...base, dsn }, first), 0)
  t.equal(first.out(), 'Successfully completed Janitor run on login-consent requests, sessions, codes and refresh state (0 deleted)\nSuccessfully completed Janitor run on grants (none stored)\n')

  t.equal(await runJanitor({ ...base, readFromEnv: true }, io(undefined, { DSN: dsn })), 0, 'DSN from the environment')
  const config = join(dir, 'token-server.yml')
  writeFileSync(config, `dsn: ${dsn}\n`)
  t.equal(await runJanitor({ ...base, config: [config] }, io()), 0, 'dsn from the config file')

  for (const [opts, re] of [
    [{ ...base }, /a DSN is required as an argument unless -e\/--read-from-env .* or -c\/--config/],
    [{ ...base, dsn, requests: false, grants: false }, /janitor requires at least one of --tokens, --requests or --grants/],
    [{ ...base, dsn, limit: 5, batchSize: 10 }, /--batch-size must not be greater than --limit/],
    [{ ...base, readFromEnv: true }, /-e was given but the environment variable DSN is not set/],
    [{ ...base, dsn: 'memory' }, /the memory store lives inside the token server process/],
    [{ ...base, dsn: 'mysql://u:hunter2@db/h' }, /unsupported DSN scheme "mysql"/],
  ] as const) {
    const out = io()
    t.equal(await runJanitor(opts, out), 1)
    t.match(out.err(), re)
    t.notMatch(out.err(), /hunter2|\n\s+at /)
  }
  const unmigrated = io()
  t.equal(await runJanitor({ ...base, dsn: `sqlite://${join(dir, 'empty.sqlite')}` }, unmigrated), 1)
  t.match(unmigrated.err(), /the database is not migrated; run `gatehouse migrate sql up <DSN>` first/)
})

t.test('janitor through commander: Hydra\'s flags and defaults', async (t) => {
  const saved = process.exitCode
  t.teardown(() => void (process.exitCode = saved))
  const { dsn, io, store } = await sqliteCase(t)
  await store.insertToken(token('old', 1000))
  const out = io(2_000_000)
  await janitorCommand(out)
    .exitOverride()
    .parseAsync(['--tokens', '--keep-if-younger', '1h', '--access-lifespan', '1h', '--refresh-lifespan', '40h', '--consent-request-lifespan', '10m', dsn], { from: 'user' })
  t.equal(process.exitCode, 0, out.err())
  t.match(out.out(), /access and refresh tokens \(1 deleted\)/)
  await t.rejects(janitorCommand(io()).exitOverride().parseAsync(['--tokens', '--limit', '0', dsn], { from: 'user' }), /--limit.*must be an integer greater than 0/)
  await t.rejects(janitorCommand(io()).exitOverride().parseAsync(['--tokens', '--keep-if-younger', '1 hour', dsn], { from: 'user' }), /invalid duration/)
  process.exitCode = saved
})

async function remaining(store: Store, hashes: readonly string[]): Promise<number> {
  let n = 0
  for (const h of hashes) if ((await store.getToken(h)) !== undefined) n++
  return n
}

interface CaseIo extends JanitorIo {
  out(): string
  err(): string
}

/** A migrated SQLite file, its store (for setting up rows), and a factory of captured ios. */
async function sqliteCase(t: Test): Promise<{ dsn: string; dir: string; store: Store; io: (now?: number, env?: NodeJS.ProcessEnv) => CaseIo }> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-janitor-'))
  const dsn = `sqlite://${join(dir, 'db.sqlite')}`
  const store = openStore(dsn)
  await store.migrate()
  t.teardown(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  let out = ''
  let err = ''
  const sink = (append: (s: string) => void): Writable => new Writable({ write: (c, _e, cb) => (append(String(c)), cb()) })
  const io = (now = Math.floor(Date.now() / 1000), env: NodeJS.ProcessEnv = {}): CaseIo => {
    out = ''
    err = ''
    return { env, now: () => now, stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), out: () => out, err: () => err }
  }
  return { dsn, dir, store, io }
}
