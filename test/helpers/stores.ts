import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Test } from 'tap'
import { MemoryStore } from '../../src/token-server/store/memory.js'
import { openStore } from '../../src/token-server/store/open.js'
import type { Store } from '../../src/token-server/store/types.js'
import { until } from './wait.js'

/** The Postgres server of the tests: CI exports it; a developer machine has it at the default. */
export const TEST_POSTGRES = process.env.GATEHOUSE_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A store under test (not migrated) and how to remove what it left behind. */
export interface OpenedStore {
  readonly store: Store
  /** The DSN it was opened with, to open it again. */
  readonly dsn: string
  cleanup(): Promise<void>
}

export interface StoreKind {
  readonly name: string
  readonly sql: boolean
  open(): Promise<OpenedStore>
}

/** A fresh Postgres schema name; tests running in parallel never share tables. */
export function uniqueSchema(): string {
  return `gh_store_${randomBytes(6).toString('hex')}`
}

/** TEST_POSTGRES with `search_path` (and any other parameters) set. */
export function postgresDsn(params: Record<string, string>): string {
  const url = new URL(TEST_POSTGRES)
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  return url.href
}

/** Runs SQL on the test server outside any store (setup, inspection, cleanup). */
export async function adminQuery<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    return (await client.query<R>(text, values)).rows
  } finally {
    await client.end()
  }
}

/**
 * Resolves once `count` connections listen on the revocation channel of `schema` (Postgres shows
 * their LISTEN done). A revocation published before that reaches no token server's feed, so a
 * test that waits for one waits for this first: LISTEN is set up in the background at start.
 */
export async function untilListening(schema: string, count = 1): Promise<void> {
  // The channel PostgresEvents listens on.
  const listen = `LISTEN "${`gatehouse_revocations_${schema}`.slice(0, 63)}"`
  const listening = async (): Promise<boolean> =>
    (await adminQuery<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'idle' AND query = $1`, [listen]))[0]!.n >= count
  await until(listening, `${count} connection(s) listening for revocation events on ${schema}`, 20_000, 50)
}

/** Every store name the helpers know; `sqlite` covers `sqlite file` and `sqlite memory`. */
const STORE_NAMES = ['memory', 'sqlite', 'postgres'] as const

/**
 * `GATEHOUSE_TEST_STORES=memory,sqlite` narrows a local run to those stores. Returns, for a store
 * name, why this run leaves it out (a tap skip reason), or undefined when it runs. So a left-out
 * store is reported as a skip, never dropped silently. CI must run every store: with `CI=true`
 * the variable is refused, as is a name that matches no store (a typo would drop them all).
 */
export function storeSelection(env: NodeJS.ProcessEnv = process.env): (name: string) => string | undefined {
  const raw = env.GATEHOUSE_TEST_STORES
  if (raw === undefined) return () => undefined
  if (env.CI === 'true') throw new Error(`GATEHOUSE_TEST_STORES=${raw} is set under CI=true: CI runs every store; unset it`)
  const only = raw.split(',').map((n) => n.trim()).filter((n) => n !== '')
  const unknown = only.filter((n) => !(STORE_NAMES as readonly string[]).includes(n))
  if (only.length === 0 || unknown.length > 0) {
    throw new Error(`GATEHOUSE_TEST_STORES=${raw}: name the stores to run, comma-separated, from ${STORE_NAMES.join(', ')}`)
  }
  return (name) => (only.some((n) => name === n || name.startsWith(`${n} `)) ? undefined : `left out by GATEHOUSE_TEST_STORES=${raw}`)
}

export const STORE_KINDS: readonly StoreKind[] = [
  {
    name: 'memory',
    sql: false,
    open: async () => ({ store: new MemoryStore(), dsn: 'memory', cleanup: async () => {} }),
  },
  {
    name: 'sqlite file',
    sql: true,
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-store-'))
      const dsn = `sqlite://${join(dir, 'nested', 'store.sqlite')}?_fk=true`
      return { store: openStore(dsn), dsn, cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
    },
  },
  {
    name: 'sqlite memory',
    sql: true,
    open: async () => ({ store: openStore('sqlite::memory:'), dsn: 'sqlite::memory:', cleanup: async () => {} }),
  },
  {
    name: 'postgres',
    sql: true,
    open: async () => {
      const schema = uniqueSchema()
      const dsn = postgresDsn({ sslmode: 'disable', max_conns: '4', search_path: schema })
      return { store: openStore(dsn), dsn, cleanup: async () => void (await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)) }
    },
  },
]

/**
 * Registers `fn` as one subtest per store kind, each on a fresh store (migrated unless
 * `migrate: false`), closed and removed afterwards. Postgres being unreachable fails the test.
 * A kind left out by GATEHOUSE_TEST_STORES is a skipped subtest (see storeSelection).
 */
export function forEachKind(
  t: Test,
  title: string,
  fn: (t: Test, store: Store, opened: OpenedStore, kind: StoreKind) => Promise<void>,
  opts: { migrate?: boolean; kinds?: (k: StoreKind) => boolean } = {},
): void {
  const leftOut = storeSelection()
  for (const kind of STORE_KINDS) {
    if (opts.kinds !== undefined && !opts.kinds(kind)) continue
    const skip = leftOut(kind.name)
    if (skip !== undefined) {
      t.test(`${title} [${kind.name}]`, { skip }, async () => {})
      continue
    }
    t.test(`${title} [${kind.name}]`, async (t) => {
      const opened = await kind.open()
      t.teardown(async () => {
        await opened.store.close()
        await opened.cleanup()
      })
      if (opts.migrate !== false) await opened.store.migrate()
      await fn(t, opened.store, opened, kind)
    })
  }
}
