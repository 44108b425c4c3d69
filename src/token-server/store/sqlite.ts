import type { OidcRecords } from '../oidc/records.js'
import Database from 'better-sqlite3'
import { GroupCommit, type ItemOutcome } from './group-commit.js'
import { migrateSqlite, rollbackSqlite, sqliteMigrationStatus } from './migrations/run-sqlite.js'
import { SqliteOidcRecords } from './sqlite-oidc.js'
import { SqliteOidcStatements } from './sqlite-oidc-statements.js'
import { openSqliteFile, type SqliteConnectionOptions } from './sqlite-open.js'
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
import { InlineWriter, ThreadWriter, type SqliteWriter } from './sqlite-writer.js'
import { fromFailure, type SqliteWrite, type WriteResult } from './sqlite-writes.js'
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

export interface SqliteStoreOptions extends SqliteConnectionOptions {
  /**
   * Run writes in a thread of their own (sqlite-writer.ts), so that no commit, fsync, checkpoint
   * or lock wait stops the event loop. For a server under load; a CLI verb's few writes do not
   * need it. Needs WAL mode, so `:memory:` always writes on the loop. Default false.
   */
  readonly writerThread?: boolean
}

/** SQLite error codes that mean "the database cannot be used now", not "this statement is wrong". */
const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB|PROTOCOL|NOMEM|PERM|AUTH)/

/**
 * The embedded store (Hydra's `sqlite://` DSN): one file, WAL journal so readers never wait for
 * the writer. better-sqlite3 is synchronous. Reads run on this connection, on the event loop:
 * they are short and never wait for a lock. Writes run on it too, or, with `writerThread`, in a
 * thread on a connection of their own (sqlite-writer.ts). Statements are compiled once per
 * connection, not per call. Token inserts go through group commit (group-commit.ts); other
 * writes commit one by one, all in the order they were called.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const
  readonly oidc: OidcRecords
  readonly #db: Database.Database
  readonly #file: string
  readonly #ping: Database.Statement<[], unknown>
  readonly #writer: SqliteWriter
  readonly #tokens: GroupCommit<TokenRecord>
  /** Compiled on first use and kept (see prepareStatements); dropped when migrate() changes the schema. */
  #statements: SqliteStatements | undefined
  /** The same for the OIDC records' table (sqlite-oidc-statements.ts). */
  #oidcStatements: SqliteOidcStatements | undefined
  #closed = false
  #closing: Promise<void> | undefined

  /** @param file a path, or `:memory:` for a private in-memory database. */
  constructor(file: string, opts: SqliteStoreOptions = {}) {
    this.#file = file
    const { db, wal } = openSqliteFile(file, opts)
    this.#db = db
    this.#ping = db.prepare('SELECT 1')
    const { writerThread = false, ...options } = opts
    this.#writer = writerThread && wal ? new ThreadWriter({ file, options }) : new InlineWriter(db)
    this.#tokens = new GroupCommit(async (tokens) => {
      const failures = await this.#writer.submit({ op: 'insertTokens', tokens: tokens.map(tokenParams) })
      return failures.map((f): ItemOutcome => (f === null ? undefined : fromFailure(f)))
    })
    this.oidc = new SqliteOidcRecords({
      read: (work) => this.#run(() => work((this.#oidcStatements ??= new SqliteOidcStatements(this.#db)))),
      write: (w) => this.#write(w),
    })
  }

  get #q(): SqliteStatements {
    this.#statements ??= prepareStatements(this.#db)
    return this.#statements
  }

  /** Runs one read (or a migration) here, turning "the database cannot be used" failures into StoreUnavailableError. */
  async #run<T>(work: () => T): Promise<T> {
    if (this.#closed) throw new StoreUnavailableError('the SQLite store is closed')
    try {
      return work()
    } catch (err) {
      throw this.#storeError(err)
    }
  }

  /** Hands one write to the writer, after the tokens queued before it. */
  async #write<W extends SqliteWrite>(w: W): Promise<WriteResult<W>> {
    if (this.#closed) throw new StoreUnavailableError('the SQLite store is closed')
    this.#tokens.flush()
    try {
      return await this.#writer.submit(w)
    } catch (err) {
      throw this.#storeError(err)
    }
  }

  #storeError(err: unknown): unknown {
    if (!(err instanceof Database.SqliteError)) return err
    // SQLite reports a missing table only as SQLITE_ERROR, so its text is all there is to go on.
    if (/no such table/.test(err.message)) {
      return new StoreUnavailableError(
        `the SQLite database "${this.#file}" is not migrated (${err.message}); run \`gatehouse token-server migrate sql\``,
        { cause: err },
      )
    }
    if (UNAVAILABLE_CODES.test(err.code)) {
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
      if (applied > 0) this.#schemaChanged()
      return applied
    })
  }

  rollback(steps: number): Promise<number> {
    return this.#run(() => {
      const undone = rollbackSqlite(this.#db, steps)
      if (undone > 0) this.#schemaChanged()
      return undone
    })
  }

  #schemaChanged(): void {
    this.#statements = undefined
    this.#oidcStatements = undefined
    this.#writer.schemaChanged()
  }

  async createClient(client: ClientRecord): Promise<void> {
    try {
      await this.#write({ op: 'insertClient', params: clientParams(client) })
    } catch (err) {
      if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DuplicateClientError(client.client_id)
      throw err
    }
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

  async updateClient(client: ClientRecord): Promise<boolean> {
    return (await this.#write({ op: 'updateClient', params: clientParams(client) })) > 0
  }

  async deleteClient(clientId: string): Promise<boolean> {
    // After the queued tokens (#write flushes them): one issued to this client just before goes
    // with it. Its OIDC records go in the same transaction (sqlite-writes.ts).
    return (await this.#write({ op: 'deleteClient', clientId })) > 0
  }

  async insertToken(token: TokenRecord): Promise<void> {
    if (this.#closed) throw new StoreUnavailableError('the SQLite store is closed')
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

  async deleteToken(signatureHash: string): Promise<boolean> {
    return (await this.#write({ op: 'deleteToken', signatureHash })) > 0
  }

  revokeByGrantId(grantId: string): Promise<string[]> {
    // A write like the others, on the writer (not on the loop's connection, where waiting for
    // the writer's lock would stop the loop), after the queued tokens (#write flushes them):
    // one of this grant issued just before goes with it.
    return this.#write({ op: 'revokeGrant', grantId })
  }

  deleteTokensOfClient(clientId: string): Promise<number> {
    return this.#write({ op: 'deleteTokensOfClient', clientId })
  }

  purgeExpiredTokens(nowSeconds: number, limit: number): Promise<number> {
    return this.#write({ op: 'purgeExpired', nowSeconds, limit })
  }

  async insertKey(key: KeyRecord): Promise<void> {
    await this.#write({ op: 'upsertKey', params: keyParams(key) })
  }

  listKeys(set: string): Promise<KeyRecord[]> {
    return this.#run(() => this.#q.listKeys.all(set).map(keyFromRow))
  }

  deleteKeys(set: string, kid?: string): Promise<number> {
    return this.#write(kid === undefined ? { op: 'deleteKeys', set } : { op: 'deleteKeys', set, kid })
  }

  ping(): Promise<void> {
    return this.#run(() => {
      this.#ping.get()
    })
  }

  /** Every call waits for the same close: the writes handed over before it, then both connections. */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#closed = true
    // Tokens already handed to insertToken are written before the writer closes.
    this.#tokens.flush()
    try {
      await this.#writer.close()
    } finally {
      this.#db.close()
    }
  }
}
