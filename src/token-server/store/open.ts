import { isAbsolute, resolve } from 'node:path'
import { ConfigError } from '../../errors.js'
import type { Logger } from '../../observability/logger.js'
import { MemoryStore } from './memory.js'
import { PostgresStore } from './postgres.js'
import { SqliteStore } from './sqlite.js'
import type { Store } from './types.js'

export interface OpenStoreOptions {
  readonly logger?: Logger
  /** Base of relative SQLite paths; defaults to process.cwd(). */
  readonly cwd?: string
  /** SQLite: write in a thread of its own (SqliteStoreOptions.writerThread); for a serving token server. */
  readonly writerThread?: boolean
}

/** The DSN forms openStore accepts, for error messages. */
const SUPPORTED = 'memory, sqlite://<path>, sqlite::memory:, postgres://…, postgresql://…'

/** What a DSN selects, before anything is opened. */
export type StoreTarget =
  | { readonly kind: 'memory' }
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'postgres'; readonly dsn: string }

/**
 * Reads a DSN in Hydra's forms:
 * - `memory`
 * - `sqlite://./data/gatehouse.sqlite` (relative to cwd), `sqlite:///abs/path.sqlite`,
 *   `sqlite::memory:` (also `sqlite://:memory:`, `sqlite://file::memory:`). Hydra's SQLite query
 *   parameters (`?_fk=true`, `&mode=rwc`) are ignored: the store sets its own pragmas.
 * - `postgres://…` and `postgresql://…`, checked when the store is created (postgres-dsn.ts).
 * @throws ConfigError naming the scheme and listing the supported ones; never echoes the DSN,
 *   which may carry a password.
 */
export function parseDsn(dsn: string, cwd: string = process.cwd()): StoreTarget {
  const trimmed = dsn.trim()
  if (trimmed === 'memory') return { kind: 'memory' }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(trimmed)?.[1]?.toLowerCase()
  if (scheme === 'postgres' || scheme === 'postgresql') return { kind: 'postgres', dsn: trimmed }
  if (scheme === 'sqlite' || scheme === 'sqlite3') return { kind: 'sqlite', file: sqliteFile(trimmed.slice(scheme.length + 1), cwd) }
  if (scheme === undefined) throw new ConfigError(`the DSN has no scheme; supported: ${SUPPORTED}`)
  throw new ConfigError(`unsupported DSN scheme "${scheme}"; supported: ${SUPPORTED}`)
}

/** The file part of what follows `sqlite:`, resolved against cwd; `:memory:` as is. */
function sqliteFile(rest: string, cwd: string): string {
  let path = rest.startsWith('//') ? rest.slice(2) : rest
  const query = path.indexOf('?')
  if (query >= 0) path = path.slice(0, query)
  if (path.startsWith('file:')) path = path.slice('file:'.length)
  if (path === ':memory:') return path
  if (path === '') throw new ConfigError(`the sqlite DSN has no file path (e.g. sqlite://./data/gatehouse.sqlite); supported: ${SUPPORTED}`)
  return isAbsolute(path) ? path : resolve(cwd, path)
}

/**
 * Opens the store a DSN names. SQLite opens (and creates) its file now; Postgres connects on
 * first use. Neither migrates: the caller runs migrate() or checks migrationStatus().
 * @throws ConfigError for a DSN it cannot use; StoreUnavailableError when the SQLite file cannot be opened.
 */
export function openStore(dsn: string, opts: OpenStoreOptions = {}): Store {
  const target = parseDsn(dsn, opts.cwd)
  switch (target.kind) {
    case 'memory':
      return new MemoryStore()
    case 'sqlite':
      return new SqliteStore(target.file, { writerThread: opts.writerThread ?? false })
    case 'postgres':
      return new PostgresStore(target.dsn, opts.logger === undefined ? {} : { logger: opts.logger })
  }
}
