import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { StoreUnavailableError } from './types.js'

/** How a connection to the SQLite file is set up; the same for the reading and the writing one. */
export interface SqliteConnectionOptions {
  /**
   * `FULL` (default): every commit is fsynced, so a token whose insert resolved survives a
   * power loss. `NORMAL`: in WAL mode a commit survives a crash of the process but the last
   * commits may be lost with the machine; several times faster per commit.
   */
  readonly synchronous?: 'FULL' | 'NORMAL'
  /** How long a statement waits for another connection's write lock. Default 5000. */
  readonly busyTimeoutMs?: number
}

/**
 * Opens (creating the directory and file if needed) and sets the connection up for durability.
 * Returns whether the file is in WAL mode: only then may a second connection write while this
 * one reads (see sqlite-writer.ts). `:memory:` and file systems without shared memory are not.
 */
export function openSqliteFile(file: string, opts: SqliteConnectionOptions): { db: Database.Database; wal: boolean } {
  let db: Database.Database | undefined
  try {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
    db = new Database(file, { timeout: opts.busyTimeoutMs ?? 5000 })
    // Readers never wait for the writer, and a commit appends to the WAL instead of rewriting pages.
    const mode = db.pragma('journal_mode = WAL', { simple: true })
    db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`)
    // macOS: a plain fsync leaves the data in the drive's cache; F_FULLFSYNC flushes it. A no-op elsewhere.
    db.pragma('fullfsync = ON')
    return { db, wal: mode === 'wal' }
  } catch (err) {
    db?.close()
    throw new StoreUnavailableError(`cannot open the SQLite database "${file}": ${(err as Error).message}`, { cause: err })
  }
}
