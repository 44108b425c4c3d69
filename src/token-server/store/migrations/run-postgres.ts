import type { ClientBase, Pool } from 'pg'
import type { MigrationStatus } from '../types.js'
import { POSTGRES_MIGRATIONS } from './postgres.js'
import { pendingMigrations } from './types.js'

/** Applied and known migrations; 0 applied when the migrations table (or the schema) does not exist yet. */
export async function postgresMigrationStatus(pool: Pool): Promise<MigrationStatus> {
  const latest = POSTGRES_MIGRATIONS.length
  // to_regclass resolves through search_path and answers NULL instead of failing.
  const present = await pool.query<{ present: boolean }>("SELECT to_regclass('gatehouse_migrations') IS NOT NULL AS present")
  if (!present.rows[0]?.present) return { applied: 0, latest }
  const count = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM gatehouse_migrations')
  return { applied: count.rows[0]?.n ?? 0, latest }
}

/**
 * Applies the pending migrations in order, each in its own transaction; returns how many ran.
 * Holds an advisory lock throughout, so token servers started together against a fresh
 * database migrate it once: the others wait, then find nothing pending.
 * @param client a dedicated connection (session locks and transactions need one)
 * @param schema the DSN's search_path schema, created when missing
 */
export async function migratePostgres(client: ClientBase, schema: string | undefined): Promise<number> {
  const lockKey = `gatehouse_migrations:${schema ?? 'public'}`
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey])
  try {
    if (schema !== undefined) {
      // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database even
      // when the schema exists, which a production role given a ready-made schema may not have.
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema.toLowerCase()])
      // The name was checked to be a plain identifier (postgres-dsn.ts), so it is safe unquoted.
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${schema}`)
    }
    await client.query(`CREATE TABLE IF NOT EXISTS gatehouse_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`)
    const done = await client.query<{ version: number }>('SELECT version FROM gatehouse_migrations')
    const pending = pendingMigrations(POSTGRES_MIGRATIONS, new Set(done.rows.map((r) => r.version)))
    for (const m of pending) {
      await client.query('BEGIN')
      try {
        await client.query(m.up)
        await client.query('INSERT INTO gatehouse_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()])
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw err
      }
    }
    return pending.length
  } finally {
    // If this fails the connection is broken, and the session lock went with it.
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch(() => undefined)
  }
}

/**
 * Undoes the last `steps` applied migrations, newest first, each in its own transaction with
 * its record, under the same advisory lock as migratePostgres; returns how many were undone.
 */
export async function rollbackPostgres(client: ClientBase, schema: string | undefined, steps: number): Promise<number> {
  const lockKey = `gatehouse_migrations:${schema ?? 'public'}`
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey])
  try {
    const present = await client.query<{ present: boolean }>("SELECT to_regclass('gatehouse_migrations') IS NOT NULL AS present")
    if (!present.rows[0]?.present) return 0
    const done = await client.query<{ version: number }>('SELECT version FROM gatehouse_migrations ORDER BY version DESC LIMIT $1', [steps])
    let undone = 0
    for (const { version } of done.rows) {
      const m = POSTGRES_MIGRATIONS.find((x) => x.version === version)
      if (m === undefined) break
      await client.query('BEGIN')
      try {
        await client.query(m.down)
        await client.query('DELETE FROM gatehouse_migrations WHERE version = $1', [version])
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw err
      }
      undone++
    }
    return undone
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch(() => undefined)
  }
}
