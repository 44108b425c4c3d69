import pg from 'pg'
import { StoreUnavailableError } from './types.js'

/**
 * SQLSTATE classes that mean "the database cannot serve us now" rather than "this statement is
 * wrong": 08 connection exception, 53 insufficient resources (too many connections, disk full),
 * 57 operator intervention (shutdown, statement timeout), 58 system error (I/O), 28 invalid
 * authorization (a rotated password), 3D invalid catalog (the database is gone).
 */
const UNAVAILABLE_CLASSES: ReadonlySet<string> = new Set(['08', '53', '57', '58', '28', '3D'])

/** undefined_table: the schema was never migrated. */
const UNDEFINED_TABLE = '42P01'

/**
 * Maps a failure from pg to what the store throws: StoreUnavailableError when the database
 * cannot be used (the APIs answer 503), the error itself when the statement is at fault.
 * Messages name the failure, never the DSN, so no password reaches a log line or a response.
 */
export function toStoreError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err
  if (err instanceof pg.DatabaseError) {
    const code = err.code ?? ''
    if (code === UNDEFINED_TABLE) {
      return new StoreUnavailableError(
        `the Postgres database is not migrated (${err.message}); run \`gatehouse token-server migrate sql\``,
        { cause: err },
      )
    }
    if (UNAVAILABLE_CLASSES.has(code.slice(0, 2))) return unavailable(err)
    return err
  }
  // Our own bugs (a value pg cannot serialise) are not the database's unavailability.
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) return err
  // What is left comes from the client side of the connection: socket errors (ECONNREFUSED,
  // ECONNRESET, ENOTFOUND), "Connection terminated unexpectedly", the pool's connection timeout,
  // a pool that was ended. pg raises these as plain Errors without a SQLSTATE, so there is no
  // code to match; anything that is not a server answer or a programming error is one of them.
  return unavailable(err)
}

function unavailable(err: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`the Postgres database is unavailable: ${describe(err)}`, { cause: err })
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  // Node reports a refused dual-stack connect as an AggregateError with an empty message.
  const code = (err as NodeJS.ErrnoException).code
  if (err.message !== '') return err.message
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(describe).join('; ')
  return code ?? err.name
}
