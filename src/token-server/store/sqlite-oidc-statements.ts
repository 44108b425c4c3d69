import type BetterSqlite3 from 'better-sqlite3'
import type { OidcModel, OidcRecord, OidcSelector } from '../oidc/records.js'
import { SELECTOR_FIELDS, selectorFields } from '../oidc/selector.js'
import type { Params } from './sqlite-statements.js'

type Db = BetterSqlite3.Database
type Stmt<P extends unknown[], R = unknown> = BetterSqlite3.Statement<P, R>

/** A row of gatehouse_oidc_records (migration 5) as SQLite returns it. */
export interface OidcRow {
  model: OidcModel
  id: string
  payload: string
  expires_at: number
  grant_id: string | null
  subject: string | null
  client_id: string | null
  sid: string | null
  consumed_at: number | null
}

/** What the consume write answers: the row, and whether this call consumed it; null when missing. */
export interface ConsumedRow {
  readonly first: boolean
  readonly row: OidcRow
}

const COLUMNS = 'model, id, payload, expires_at, grant_id, subject, client_id, sid, consumed_at'
const TABLE = 'gatehouse_oidc_records'

/** Which findBy/destroyBy statement serves a selector: one bit per field, in SELECTOR_FIELDS order. */
function variant(s: OidcSelector): number {
  return selectorFields(s).reduce((v, f) => v | (1 << SELECTOR_FIELDS.indexOf(f)), 0)
}

function whereOf(v: number): string {
  return SELECTOR_FIELDS.filter((_, i) => v & (1 << i))
    .map((f) => ` AND ${f} = @${f}`)
    .join('')
}

/** The statement's parameters: only the names it binds, as better-sqlite3 rejects others. */
export function selectorParams(model: OidcModel, s: OidcSelector): Params {
  const params: Params = { model }
  for (const f of selectorFields(s)) params[f] = s[f]!
  return params
}

/**
 * The OIDC records' statements on one connection: the loop's (reads) or the writer's (writes).
 * Compiled on first use of the table, and again after a schema change (a new instance). The
 * selector variants (15 of each) compile when first used: most never are.
 */
export class SqliteOidcStatements {
  readonly find: Stmt<[OidcModel, string, number], OidcRow>
  readonly upsert: Stmt<[Params]>
  readonly consume: Stmt<[number, OidcModel, string, number], OidcRow>
  readonly destroy: Stmt<[OidcModel, string]>
  readonly revokeGrant: Stmt<[string]>
  readonly purge: Stmt<[number, number]>
  readonly destroyOfClient: Stmt<[string]>
  readonly #db: Db
  readonly #findBy: Stmt<[Params], OidcRow>[] = []
  readonly #destroyBy: Stmt<[Params], OidcRow>[] = []

  /** @throws SqliteError "no such table" when migration 5 is not applied. */
  constructor(db: Db) {
    this.#db = db
    this.find = db.prepare(`SELECT ${COLUMNS} FROM ${TABLE} WHERE model = ? AND id = ? AND expires_at > ?`)
    // OR REPLACE deletes the old row and inserts a new one, with a new (highest) rowid: a
    // replaced record sorts as the newest, as in the memory store.
    this.upsert = db.prepare(
      `INSERT OR REPLACE INTO ${TABLE} (${COLUMNS})
       VALUES (@model, @id, @payload, @expires_at, @grant_id, @subject, @client_id, @sid, @consumed_at)`,
    )
    // The compare-and-set: of concurrent callers (the writer serialises them, and other
    // processes wait for the file's write lock) exactly one finds consumed_at still NULL.
    this.consume = db.prepare(
      `UPDATE ${TABLE} SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL AND expires_at > ? RETURNING ${COLUMNS}`,
    )
    this.destroy = db.prepare(`DELETE FROM ${TABLE} WHERE model = ? AND id = ?`)
    this.revokeGrant = db.prepare(`DELETE FROM ${TABLE} WHERE grant_id = ?`)
    // DELETE … LIMIT needs a compile-time option; a rowid subquery works everywhere.
    this.purge = db.prepare(`DELETE FROM ${TABLE} WHERE rowid IN (SELECT rowid FROM ${TABLE} WHERE expires_at <= ? LIMIT ?)`)
    this.destroyOfClient = db.prepare(`DELETE FROM ${TABLE} WHERE client_id = ?`)
  }

  /** Unexpired records of a model matching the selector, oldest first. */
  findBy(s: OidcSelector): Stmt<[Params], OidcRow> {
    const v = variant(s)
    this.#findBy[v] ??= this.#db.prepare(
      `SELECT ${COLUMNS} FROM ${TABLE} WHERE model = @model${whereOf(v)} AND expires_at > @now ORDER BY rowid`,
    )
    return this.#findBy[v]
  }

  /** Deletes the records of a model matching the selector, returning them. */
  destroyBy(s: OidcSelector): Stmt<[Params], OidcRow> {
    const v = variant(s)
    this.#destroyBy[v] ??= this.#db.prepare(`DELETE FROM ${TABLE} WHERE model = @model${whereOf(v)} RETURNING ${COLUMNS}`)
    return this.#destroyBy[v]
  }
}

export function oidcParams(r: OidcRecord): Params {
  return {
    model: r.model,
    id: r.id,
    payload: JSON.stringify(r.payload),
    expires_at: r.expires_at,
    grant_id: r.grant_id ?? null,
    subject: r.subject ?? null,
    client_id: r.client_id ?? null,
    sid: r.sid ?? null,
    consumed_at: r.consumed_at ?? null,
  }
}

/** The record a row holds; an absent optional field is left out, as the caller left it out. */
export function oidcFromRow(r: OidcRow): OidcRecord {
  return {
    model: r.model,
    id: r.id,
    payload: JSON.parse(r.payload) as OidcRecord['payload'],
    expires_at: r.expires_at,
    ...(r.grant_id === null ? {} : { grant_id: r.grant_id }),
    ...(r.subject === null ? {} : { subject: r.subject }),
    ...(r.client_id === null ? {} : { client_id: r.client_id }),
    ...(r.sid === null ? {} : { sid: r.sid }),
    ...(r.consumed_at === null ? {} : { consumed_at: r.consumed_at }),
  }
}
