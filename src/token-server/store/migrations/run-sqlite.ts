import type Database from 'better-sqlite3'
import type { MigrationStatus } from '../types.js'
import { SQLITE_MIGRATIONS } from './sqlite.js'

// The statements here are compiled per call, unlike the store's: they run once at startup or
// from `migrate sql`, and the migrations table may not exist when the store opens.

/** Applied and known migrations; 0 applied when the migrations table does not exist yet. */
export function sqliteMigrationStatus(db: Database.Database): MigrationStatus {
  const latest = SQLITE_MIGRATIONS.length
  const table = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'gatehouse_migrations'").get()
  if (table === undefined) return { applied: 0, latest }
  const row = db.prepare('SELECT count(*) AS n FROM gatehouse_migrations').get() as { n: number }
  return { applied: row.n, latest }
}

/** Applies the pending migrations in order, each in its own transaction; returns how many ran. */
export function migrateSqlite(db: Database.Database): number {
  db.exec(`CREATE TABLE IF NOT EXISTS gatehouse_migrations (
    version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`)
  const isApplied = db.prepare('SELECT 1 FROM gatehouse_migrations WHERE version = ?')
  const record = db.prepare('INSERT INTO gatehouse_migrations (version, name, applied_at) VALUES (?, ?, ?)')
  let applied = 0
  for (const m of SQLITE_MIGRATIONS) {
    // IMMEDIATE takes the write lock before the check, so two processes migrating the same file
    // at once apply each migration exactly once.
    const ran = db
      .transaction(() => {
        if (isApplied.get(m.version) !== undefined) return false
        db.exec(m.up)
        record.run(m.version, m.name, Date.now())
        return true
      })
      .immediate()
    if (ran) applied++
  }
  return applied
}

/**
 * Undoes the last `steps` applied migrations, newest first, each in its own transaction with
 * its record; returns how many were undone.
 */
export function rollbackSqlite(db: Database.Database, steps: number): number {
  if (sqliteMigrationStatus(db).applied === 0) return 0
  const newest = db.prepare('SELECT version FROM gatehouse_migrations ORDER BY version DESC LIMIT 1')
  const forget = db.prepare('DELETE FROM gatehouse_migrations WHERE version = ?')
  let undone = 0
  for (; undone < steps; undone++) {
    const ran = db
      .transaction(() => {
        const row = newest.get() as { version: number } | undefined
        const m = row === undefined ? undefined : SQLITE_MIGRATIONS.find((x) => x.version === row.version)
        if (m === undefined) return false
        db.exec(m.down)
        forget.run(m.version)
        return true
      })
      .immediate()
    if (!ran) break
  }
  return undone
}
