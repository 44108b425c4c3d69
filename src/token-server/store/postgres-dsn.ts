import type { PoolConfig } from 'pg'
import { parseDuration } from '../../config/duration.js'
import { ConfigError } from '../../errors.js'

/** A Hydra-style Postgres DSN translated for pg.Pool. */
export interface PostgresDsn {
  /** Pool settings plus `connectionString` (the DSN without the parameters handled here). */
  readonly pool: PoolConfig
  /** The `search_path` schema, already checked to be a plain identifier; undefined → `public`. */
  readonly schema: string | undefined
}

/** Hydra's default `max_conns`. */
const DEFAULT_MAX_CONNS = 20
/**
 * pg waits for a connection forever by default; with an unreachable host every request would
 * hang instead of getting its 503. Hydra's DSNs set `connect_timeout` in seconds, as libpq does.
 */
const DEFAULT_CONNECT_TIMEOUT_S = 5
/** Unquoted, so Postgres folds it to lower case both in `search_path` and in CREATE SCHEMA. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/**
 * Translates a Hydra DSN (`postgres://user:pass@host:5432/db?sslmode=disable&max_conns=20&…`):
 * - `max_conns` → pool size (default 20); `max_conn_lifetime` and `max_idle_conn_time` (Go
 *   durations) → pg-pool's connection lifetime and idle timeout; `max_idle_conns` is dropped:
 *   pg-pool has no cap on idle connections, only the idle timeout.
 * - `connect_timeout` (seconds, default 5; 0 waits forever) → connection timeout.
 * - `sslmode=disable` → no TLS; other ssl modes and parameters go to pg as they are.
 * - `search_path=<schema>` → set on every pooled connection at startup (no extra round trip).
 * @throws ConfigError naming the parameter; messages never include the DSN (it holds the password).
 */
export function parsePostgresDsn(dsn: string): PostgresDsn {
  let url: URL
  try {
    url = new URL(dsn)
  } catch {
    throw new ConfigError('the Postgres DSN is not a valid URL (expected postgres://user:password@host:5432/database?…)')
  }
  const params = url.searchParams
  const take = (name: string): string | undefined => {
    const value = params.get(name) ?? undefined
    params.delete(name)
    return value
  }

  const pool: PoolConfig = {
    max: intParam('max_conns', take('max_conns'), 1) ?? DEFAULT_MAX_CONNS,
    connectionTimeoutMillis: (intParam('connect_timeout', take('connect_timeout'), 0) ?? DEFAULT_CONNECT_TIMEOUT_S) * 1000,
  }
  take('max_idle_conns')
  const lifetime = duration('max_conn_lifetime', take('max_conn_lifetime'))
  if (lifetime !== undefined) pool.maxLifetimeSeconds = Math.ceil(lifetime / 1000)
  const idle = duration('max_idle_conn_time', take('max_idle_conn_time'))
  if (idle !== undefined) pool.idleTimeoutMillis = idle
  if (params.get('sslmode') === 'disable') {
    take('sslmode')
    pool.ssl = false
  }

  const schema = take('search_path')
  const startupOptions = [take('options')]
  if (schema !== undefined) {
    if (!SCHEMA_NAME.test(schema)) {
      throw new ConfigError(`the Postgres DSN parameter search_path must be one schema name (letters, digits and _, at most 63), got "${schema}"`)
    }
    startupOptions.push(`-c search_path=${schema}`)
  }
  const options = startupOptions.filter((o) => o !== undefined && o !== '').join(' ')
  if (options !== '') pool.options = options

  pool.connectionString = url.href
  return { pool, schema }
}

function intParam(name: string, value: string | undefined, min: 0 | 1): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d{1,9}$/.test(value) || Number(value) < min) {
    throw new ConfigError(`the Postgres DSN parameter ${name} must be an integer >= ${min}, got "${value}"`)
  }
  return Number(value)
}

function duration(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  try {
    return parseDuration(value)
  } catch (err) {
    throw new ConfigError(`the Postgres DSN parameter ${name}: ${(err as Error).message}`)
  }
}
