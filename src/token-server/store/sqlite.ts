import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { GroupCommit, type ItemOutcome } from './group-commit.js'
import { migrateSqlite, rollbackSqlite, sqliteMigrationStatus } from './migrations/run-sqlite.js'
import {
  clientFromRow,
  clientParams,
  keyFromRow,
  keyParams,
  listVariant,
  prepareStatements,
  tokenFromRow,
  tokenParams,
  type SqliteStatements,
} from './sqlite-statements.js'
import {
  DuplicateClientError,
  StoreUnavailableError,
  type ClientRecord,
  type KeyRecord,
  type ListClientsQuery,
  type MigrationStatus,
  type Store,
  type TokenRecord,
} from './types.js'

export interface SqliteStoreOptions {
  /**
   * `FULL` (default): every commit is fsynced, so a token whose insert resolved survives a
   * power loss. `NORMAL`: in WAL mode a commit survives a crash of the process but the last
   * commits may be lost with the machine; several times faster per commit.
   */
  readonly synchronous?: 'FULL' | 'NORMAL'
  /** How long a statement waits for another process's write lock. Default 5000. */
  readonly busyTimeoutMs?: number
}

/** SQLite error codes that mean "the database cannot be used now", not "this statement is wrong". */
const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB|PROTOCOL|NOMEM|PERM|AUTH)/

/**
 * The embedded store (Hydra's `sqlite://` DSN): one file, WAL journal so readers never wait for
 * the writer. better-sqlite3 is synchronous, so every method does its work before returning and
 * statements never interleave; the methods are async only to fit the Store contract. Statements
 * are compiled once per store, not per call. Token inserts go through group commit
 * (group-commit.ts); other writes commit one by one.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const
  readonly #db: Database.Database
  readonly #file: string
  readonly #ping: Database.Statement<[], unknown>
  readonly #tokens: GroupCommit<TokenRecord>
  readonly #writeTokens: Database.Transaction<(tokens: readonly TokenRecord[]) => ItemOutcome[]>
  readonly #deleteClient: Database.Transaction<(clientId: string) => boolean>
  /** Compiled on first use and kept (see prepareStatements); dropped when migrate() changes the schema. */
  #statements: SqliteStatements | undefined

  /** @param file a path, or `:memory:` for a private in-memory database. */
  constructor(file: string, opts: SqliteStoreOptions = {}) {
    this.#file = file
    const db = openFile(file, opts)
    this.#db = db
    this.#ping = db.prepare('SELECT 1')
    this.#writeTokens = db.transaction((tokens: readonly TokenRecord[]) => {
      const insert = this.#q.insertToken
      return tokens.map((t): ItemOutcome => {
        try {
          insert.run(tokenParams(t))
          return undefined
        } catch (err) {
          // A constraint violation or an unserialisable value is this token's problem: it fails
          // alone and the batch commits. Anything else (I/O, disk full) fails the whole batch.
          if (err instanceof Database.SqliteError && !err.code.startsWith('SQLITE_CONSTRAINT')) throw err
          return err instanceof Error ? err : new Error(String(err))
        }
      })
    })
    this.#deleteClient = db.transaction((clientId: string) => {
      if (this.#q.deleteClient.run(clientId).changes === 0) return false
      this.#q.deleteTokensOfClient.run(clientId)
      return true
    })
    this.#tokens = new GroupCommit((tokens) => this.#writeTokens.immediate(tokens))
  }

  get #q(): SqliteStatements {
    if (this.#statements !== undefined) return this.#statements
    try {
      this.#statements = prepareStatements(this.#db)
    } catch (err) {
      // SQLite reports a missing table only as SQLITE_ERROR, so its text is all there is to go on.
      if (err instanceof Database.SqliteError && /no such table/.test(err.message)) {
        throw new StoreUnavailableError(
          `the SQLite database "${this.#file}" is not migrated (${err.message}); run \`gatehouse token-server migrate sql\``,
          { cause: err },
        )
      }
      throw err
    }
    return this.#statements
  }

  /** Runs one unit of work, turning "the database cannot be used" failures into StoreUnavailableError. */
  async #run<T>(work: () => T): Promise<T> {
    if (!this.#db.open) throw new StoreUnavailableError('the SQLite store is closed')
    try {
      return work()
    } catch (err) {
      throw this.#storeError(err)
    }
  }

  #storeError(err: unknown): unknown {
    if (err instanceof Database.SqliteError && UNAVAILABLE_CODES.test(err.code)) {
      return new StoreUnavailableError(`the SQLite database "${this.#file}" failed: ${err.message}`, { cause: err })
    }
    return err
  }

  migrationStatus(): Promise<MigrationStatus> {
    return this.#run(() => sqliteMigrationStatus(this.#db))
  }

  migrate(): Promise<number> {
    return this.#run(() => {
      const applied = migrateSqlite(this.#db)
      // Recompile against the new schema rather than rely on SQLite re-preparing stale statements.
      if (applied > 0) this.#statements = undefined
      return applied
    })
  }

  rollback(steps: number): Promise<number> {
    return this.#run(() => {
      const undone = rollbackSqlite(this.#db, steps)
      if (undone > 0) this.#statements = undefined
      return undone
    })
  }

  createClient(client: ClientRecord): Promise<void> {
    return this.#run(() => {
      try {
        this.#q.insertClient.run(clientParams(client))
      } catch (err) {
        if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DuplicateClientError(client.client_id)
        throw err
      }
    })
  }

  getClient(clientId: string): Promise<ClientRecord | undefined> {
    return this.#run(() => {
      const row = this.#q.getClient.get(clientId)
      return row === undefined ? undefined : clientFromRow(row)
    })
  }

  listClients(query: ListClientsQuery): Promise<ClientRecord[]> {
    return this.#run(() => {
      // Only the parameters the chosen statement names: better-sqlite3 rejects unknown ones.
      const params: Record<string, string | number> = { limit: query.limit }
      if (query.after !== undefined) params.after = query.after
      if (query.client_name !== undefined) params.client_name = query.client_name
      if (query.owner !== undefined) params.owner = query.owner
      return this.#q.listClients[listVariant(query)]!.all(params).map(clientFromRow)
    })
  }

  updateClient(client: ClientRecord): Promise<boolean> {
    return this.#run(() => this.#q.updateClient.run(clientParams(client)).changes > 0)
  }

  deleteClient(clientId: string): Promise<boolean> {
    return this.#run(() => {
      // Queued tokens first: one issued to this client just before must go with it.
      this.#tokens.flush()
      return this.#deleteClient.immediate(clientId)
    })
  }

  async insertToken(token: TokenRecord): Promise<void> {
    if (!this.#db.open) throw new StoreUnavailableError('the SQLite store is closed')
    try {
      await this.#tokens.add(token)
    } catch (err) {
      throw this.#storeError(err)
    }
  }

  getToken(signatureHash: string): Promise<TokenRecord | undefined> {
    return this.#run(() => {
      const row = this.#q.getToken.get(signatureHash)
      return row === undefined ? undefined : tokenFromRow(row)
    })
  }

  deleteToken(signatureHash: string): Promise<boolean> {
    return this.#run(() => {
      this.#tokens.flush()
      return this.#q.deleteToken.run(signatureHash).changes > 0
    })
  }

  revokeByGrantId(grantId: string): Promise<string[]> {
    return this.#run(() => {
      // Queued tokens first: one of this grant issued just before must go with it.
      this.#tokens.flush()
      return this.#q.revokeGrant.all(grantId).map((r) => r.signature_hash)
    })
  }

  deleteTokensOfClient(clientId: string): Promise<number> {
    return this.#run(() => {
      this.#tokens.flush()
      return this.#q.deleteTokensOfClient.run(clientId).changes
    })
  }

  purgeExpiredTokens(nowSeconds: number, limit: number): Promise<number> {
    return this.#run(() => this.#q.purgeExpired.run(nowSeconds, limit).changes)
  }

  insertKey(key: KeyRecord): Promise<void> {
    return this.#run(() => {
      this.#q.upsertKey.run(keyParams(key))
    })
  }

  listKeys(set: string): Promise<KeyRecord[]> {
    return this.#run(() => this.#q.listKeys.all(set).map(keyFromRow))
  }

  deleteKeys(set: string, kid?: string): Promise<number> {
    return this.#run(() => (kid === undefined ? this.#q.deleteKeySet.run(set) : this.#q.deleteKey.run(set, kid)).changes)
  }

  ping(): Promise<void> {
    return this.#run(() => {
      this.#ping.get()
    })
  }

  async close(): Promise<void> {
    if (!this.#db.open) return
    // Tokens already handed to insertToken are written before the file is closed.
    this.#tokens.flush()
    this.#db.close()
  }
}

/** Opens (creating the directory and file if needed) and sets the connection up for durability. */
function openFile(file: string, opts: SqliteStoreOptions): Database.Database {
  let db: Database.Database | undefined
  try {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
    db = new Database(file, { timeout: opts.busyTimeoutMs ?? 5000 })
    // Readers never wait for the writer, and a commit appends to the WAL instead of rewriting pages.
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`)
    // macOS: a plain fsync leaves the data in the drive's cache; F_FULLFSYNC flushes it. A no-op elsewhere.
    db.pragma('fullfsync = ON')
    return db
  } catch (err) {
    db?.close()
    throw new StoreUnavailableError(`cannot open the SQLite database "${file}": ${(err as Error).message}`, { cause: err })
  }
}
