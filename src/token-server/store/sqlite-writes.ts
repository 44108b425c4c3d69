import Database from 'better-sqlite3'
import type { OidcModel, OidcSelector } from '../oidc/records.js'
import { selectorParams, SqliteOidcStatements, type ConsumedRow, type OidcRow } from './sqlite-oidc-statements.js'
import { prepareStatements, type Params, type SqliteStatements } from './sqlite-statements.js'

/**
 * Every write the SQLite store makes while serving, as plain data: it crosses to the writer
 * thread by postMessage (sqlite-writer.ts). Parameters are already in column form
 * (sqlite-statements.ts), so the thread only binds them.
 */
export type SqliteWrite =
  | { readonly op: 'insertTokens'; readonly tokens: readonly Params[] }
  | { readonly op: 'insertClient' | 'updateClient' | 'upsertKey'; readonly params: Params }
  | { readonly op: 'deleteClient' | 'deleteTokensOfClient'; readonly clientId: string }
  | { readonly op: 'deleteToken'; readonly signatureHash: string }
  | { readonly op: 'revokeGrant'; readonly grantId: string }
  | { readonly op: 'purgeExpired'; readonly nowSeconds: number; readonly limit: number }
  | { readonly op: 'deleteKeys'; readonly set: string; readonly kid?: string }
  /** The OIDC records (sqlite-oidc.ts): one op per OidcRecords write. */
  | { readonly op: 'oidcUpsert'; readonly params: Params }
  | { readonly op: 'oidcConsume'; readonly model: OidcModel; readonly id: string; readonly now: number }
  | { readonly op: 'oidcDestroy'; readonly model: OidcModel; readonly id: string }
  | { readonly op: 'oidcDestroyBy'; readonly model: OidcModel; readonly selector: OidcSelector }
  | { readonly op: 'oidcRevokeGrant'; readonly grantId: string }
  | { readonly op: 'oidcPurge'; readonly now: number; readonly limit: number }
  /** The schema changed (migrate, rollback): compile the statements again on next use. */
  | { readonly op: 'recompile' }

/** An error as it crosses threads: structured clone keeps neither the class nor `code`. */
export interface WriteFailure {
  readonly message: string
  /** SqliteError's code (`SQLITE_CONSTRAINT_PRIMARYKEY`…), when it was one. */
  readonly code?: string
}

/** The writes that answer something other than the count of rows changed. */
interface RowResults {
  /** One entry per token (null: written; a failure: this token alone was refused, the others committed). */
  readonly insertTokens: (WriteFailure | null)[]
  /** The signature hashes deleted. */
  readonly revokeGrant: string[]
  /** null: no such unexpired record. */
  readonly oidcConsume: ConsumedRow | null
  /** The rows deleted. */
  readonly oidcDestroyBy: OidcRow[]
}

/** What each write answers: see RowResults; for the others the rows changed. */
export type WriteResult<W extends SqliteWrite> = W['op'] extends keyof RowResults ? RowResults[W['op']] : number

type AnyResult = RowResults[keyof RowResults] | number

export function toFailure(err: unknown): WriteFailure {
  if (err instanceof Database.SqliteError) return { message: err.message, code: err.code }
  return { message: err instanceof Error ? err.message : String(err) }
}

export function fromFailure(f: WriteFailure): Error {
  return f.code === undefined ? new Error(f.message) : new Database.SqliteError(f.message, f.code)
}

/**
 * Runs SqliteWrites on one connection, in the order given, each in its own transaction. Lives in
 * the writer thread, or on the store's own connection where there is no writer thread (`:memory:`).
 */
export class SqliteWriteExecutor {
  readonly #db: Database.Database
  #statements: SqliteStatements | undefined
  #oidcStatements: SqliteOidcStatements | undefined
  readonly #insertTokens: Database.Transaction<(tokens: readonly Params[]) => (WriteFailure | null)[]>
  readonly #deleteClient: Database.Transaction<(clientId: string) => number>
  readonly #consume: Database.Transaction<(model: OidcModel, id: string, now: number) => ConsumedRow | null>

  constructor(db: Database.Database) {
    this.#db = db
    this.#insertTokens = db.transaction((tokens: readonly Params[]) => {
      const insert = this.#q().insertToken
      return tokens.map((t) => {
        try {
          insert.run(t)
          return null
        } catch (err) {
          // A constraint violation or an unserialisable value is this token's problem: it fails
          // alone and the batch commits. Anything else (I/O, disk full) fails the whole batch.
          if (err instanceof Database.SqliteError && !err.code.startsWith('SQLITE_CONSTRAINT')) throw err
          return toFailure(err)
        }
      })
    })
    this.#deleteClient = db.transaction((clientId: string) => {
      const q = this.#q()
      if (q.deleteClient.run(clientId).changes === 0) return 0
      q.deleteTokensOfClient.run(clientId)
      this.#oidc().destroyOfClient.run(clientId)
      return 1
    })
    this.#consume = db.transaction((model: OidcModel, id: string, now: number) => {
      const q = this.#oidc()
      const consumed = q.consume.get(now, model, id, now)
      if (consumed !== undefined) return { first: true, row: consumed }
      // Same transaction, so nobody consumed or replaced it in between: either it was consumed
      // before (a replay), or there is no unexpired record.
      const stored = q.find.get(model, id, now)
      return stored === undefined ? null : { first: false, row: stored }
    })
  }

  /** Runs one write; throws what SQLite threw when the whole write failed. */
  apply<W extends SqliteWrite>(w: W): WriteResult<W> {
    return this.#run(w) as WriteResult<W>
  }

  /** Statements compile on first use: a fresh file is opened before it is migrated. */
  #q(): SqliteStatements {
    this.#statements ??= prepareStatements(this.#db)
    return this.#statements
  }

  #oidc(): SqliteOidcStatements {
    this.#oidcStatements ??= new SqliteOidcStatements(this.#db)
    return this.#oidcStatements
  }

  #run(w: SqliteWrite): AnyResult {
    switch (w.op) {
      case 'insertTokens':
        // IMMEDIATE: take the write lock up front, so the batch never fails half-way on a lock upgrade.
        return this.#insertTokens.immediate(w.tokens)
      case 'deleteClient':
        return this.#deleteClient.immediate(w.clientId)
      case 'insertClient':
      case 'updateClient':
      case 'upsertKey':
        return this.#q()[w.op].run(w.params).changes
      case 'deleteTokensOfClient':
        return this.#q().deleteTokensOfClient.run(w.clientId).changes
      case 'revokeGrant':
        return this.#q().revokeGrant.all(w.grantId).map((r) => r.signature_hash)
      case 'deleteToken':
        return this.#q().deleteToken.run(w.signatureHash).changes
      case 'purgeExpired':
        return this.#q().purgeExpired.run(w.nowSeconds, w.limit).changes
      case 'deleteKeys':
        return (w.kid === undefined ? this.#q().deleteKeySet.run(w.set) : this.#q().deleteKey.run(w.set, w.kid)).changes
      case 'oidcUpsert':
        return this.#oidc().upsert.run(w.params).changes
      case 'oidcConsume':
        return this.#consume.immediate(w.model, w.id, w.now)
      case 'oidcDestroy':
        return this.#oidc().destroy.run(w.model, w.id).changes
      case 'oidcDestroyBy':
        return this.#oidc().destroyBy(w.selector).all(selectorParams(w.model, w.selector))
      case 'oidcRevokeGrant':
        return this.#oidc().revokeGrant.run(w.grantId).changes
      case 'oidcPurge':
        return this.#oidc().purge.run(w.now, w.limit).changes
      case 'recompile':
        this.#statements = undefined
        this.#oidcStatements = undefined
        return 0
    }
  }
}
