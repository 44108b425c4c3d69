import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Test } from 'tap'
import { Agent, buildConnector, request, type Dispatcher } from 'undici'
import { deepMerge } from '../../src/util/deep-merge.js'
import { buildConfigFor } from '../../src/config/load.js'
import { createLogger } from '../../src/observability/logger.js'
import { TOKEN_SERVER_CONFIG } from '../../src/token-server/config.js'
import { createTokenServer, type TokenServer, type TokenServerOptions } from '../../src/token-server/server.js'
import { MemoryStore } from '../../src/token-server/store/memory.js'
import type { Store } from '../../src/token-server/store/types.js'
import { storeSelection, untilListening } from './stores.js'

export const SECRET = 'a-system-secret-of-at-least-32-chars'

export interface RunningTokenServer {
  readonly server: TokenServer
  readonly publicUrl: string
  readonly adminUrl: string
  close(): Promise<void>
}

/**
 * A token server on 127.0.0.1:0 (both APIs) over the given store (memory by default), with a fast
 * hasher so tests do not spend their time in PBKDF2. `config` is merged over the test defaults.
 */
export async function startTokenServer(opts: { store?: Store; config?: Record<string, unknown>; options?: TokenServerOptions } = {}): Promise<RunningTokenServer> {
  const base = {
    serve: { public: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } },
    secrets: { system: [SECRET] },
    oauth2: { hashers: { pbkdf2: { iterations: 1000 } } },
    log: { level: 'silent' },
  }
  const config = buildConfigFor(TOKEN_SERVER_CONFIG, deepMerge(base, opts.config ?? {}), {})
  const store = opts.store ?? new MemoryStore()
  await store.migrate()
  const server = createTokenServer(config, store, createLogger(config.log), opts.options)
  const a = await server.start('all')
  return {
    server,
    publicUrl: `http://127.0.0.1:${a.public!.port}`,
    adminUrl: `http://127.0.0.1:${a.admin!.port}`,
    close: () => server.close(),
  }
}

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: any
}

/** One HTTP call; JSON bodies are parsed, others returned as text. `dispatcher`: e.g. an Agent bound to another local address. */
export async function call(
  method: string,
  url: string,
  opts: { json?: unknown; form?: Record<string, string | string[]>; headers?: Record<string, string>; body?: string; dispatcher?: Dispatcher } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers }
  let body: string | undefined = opts.body
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(opts.json)
  } else if (opts.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    const p = new URLSearchParams()
    for (const [k, v] of Object.entries(opts.form)) for (const x of [v].flat()) p.append(k, x)
    body = p.toString()
  }
  const res = await request(url, { method: method as 'GET', headers, body, ...(opts.dispatcher === undefined ? {} : { dispatcher: opts.dispatcher }) })
  const text = await res.body.text()
  let parsed: unknown = text
  if ((res.headers['content-type'] ?? '').toString().includes('json') && text !== '') parsed = JSON.parse(text)
  return { status: res.statusCode, headers: res.headers as Answer['headers'], body: parsed }
}

/**
 * An undici Agent whose connections come from `localAddress` (any 127.x.y.z works on loopback),
 * so a test can be two clients at two source addresses. undici drops `localAddress` from its
 * `connect` options, so the connector is wrapped.
 */
export function fromAddress(localAddress: string): Agent {
  const connect = buildConnector({})
  return new Agent({ connect: (opts, cb) => connect({ ...opts, localAddress } as buildConnector.Options, cb) })
}

export function basic(id: string, secret: string): Record<string, string> {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+')
  return { authorization: `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}` }
}

/** A store under test, and how to get rid of what it left behind. */
export interface StoreCase {
  readonly name: string
  /** `listening`: resolves once a server over the store hears revocation events (Postgres sets that up in the background). */
  open(): Promise<{ store: Store; cleanup(): Promise<void>; listening?(): Promise<void> }>
}

/** The Postgres server of the tests: CI exports it; a developer machine has it at the default. */
export const POSTGRES_URL = process.env.GATEHOUSE_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test'

/**
 * Every store kind the token server runs on. Postgres runs in a schema of its own per test so
 * parallel test files do not see each other's rows; if Postgres is unreachable the test fails.
 */
export const STORE_CASES: readonly StoreCase[] = [
  { name: 'memory', open: async () => ({ store: new MemoryStore(), cleanup: async () => {} }) },
  {
    name: 'sqlite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ts-'))
      const { openStore } = await import('../../src/token-server/store/open.js')
      const store = openStore(`sqlite://${join(dir, 'test.sqlite')}`)
      return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
    },
  },
  {
    name: 'postgres',
    open: async () => {
      const schema = `gh_test_${randomBytes(6).toString('hex')}`
      const url = new URL(POSTGRES_URL)
      url.searchParams.set('search_path', schema)
      const { openStore } = await import('../../src/token-server/store/open.js')
      const store = openStore(url.href)
      return {
        store,
        listening: () => untilListening(schema),
        cleanup: async () => {
          const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 })
          try {
            await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
          } finally {
            await admin.end()
          }
        },
      }
    },
  },
]

/** Runs `fn` as one subtest per store kind, with a migrated store and a server over it (a kind left out by GATEHOUSE_TEST_STORES is a skipped subtest). */
export function forEachStore(t: Test, title: string, fn: (t: Test, s: RunningTokenServer, store: Store) => Promise<void>, config?: Record<string, unknown>, options?: TokenServerOptions): void {
  // GATEHOUSE_TEST_STORES=memory,sqlite narrows a local run; what it leaves out is reported as
  // a skip, and CI (CI=true) refuses it: every store runs there.
  const leftOut = storeSelection()
  for (const c of STORE_CASES) {
    const skip = leftOut(c.name)
    if (skip !== undefined) {
      t.test(`${title} [${c.name}]`, { skip }, async () => {})
      continue
    }
    t.test(`${title} [${c.name}]`, async (t) => {
      const { store, cleanup, listening } = await c.open()
      const s = await startTokenServer({ store, ...(config === undefined ? {} : { config }), ...(options === undefined ? {} : { options }) })
      t.teardown(async () => {
        await s.close()
        await cleanup()
      })
      await listening?.()
      await fn(t, s, store)
    })
  }
}
