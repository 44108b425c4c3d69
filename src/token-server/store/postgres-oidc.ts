import type pg from 'pg'
import type { ConsumeResult, OidcModel, OidcRecord, OidcRecords, OidcSelector } from '../oidc/records.js'
import { selectorFields } from '../oidc/selector.js'
import type { NamedQuery } from './postgres-sql.js'

/** A row of gatehouse_oidc_records (migration 5); bigint columns arrive as numbers (the store's TYPES). */
interface OidcRow {
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

/** How the Postgres store runs a named statement: one round trip in autocommit, failures mapped (postgres-errors.ts). */
export type PostgresQuery = <R extends pg.QueryResultRow>(q: NamedQuery, values: unknown[]) => Promise<pg.QueryResult<R>>

const COLUMNS = 'model, id, payload, expires_at, grant_id, subject, client_id, sid, consumed_at'
const TABLE = 'gatehouse_oidc_records'

const SQL = {
  upsert: {
    name: 'gh_oidc_upsert',
    // seq = DEFAULT: a replaced record sorts as the newest, as in the other stores.
    text: `INSERT INTO ${TABLE} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at,
             grant_id = excluded.grant_id, subject = excluded.subject, client_id = excluded.client_id,
             sid = excluded.sid, consumed_at = excluded.consumed_at, seq = DEFAULT`,
  },
  find: { name: 'gh_oidc_find', text: `SELECT ${COLUMNS} FROM ${TABLE} WHERE model = $1 AND id = $2 AND expires_at > $3` },
  // The compare-and-set. Under READ COMMITTED a concurrent caller blocks on the row lock, then
  // re-checks the WHERE against the committed row: consumed_at is no longer NULL, so it matches
  // nothing. Exactly one caller, in any process, gets the row back.
  consume: {
    name: 'gh_oidc_consume',
    text: `UPDATE ${TABLE} SET consumed_at = $3 WHERE model = $1 AND id = $2 AND consumed_at IS NULL AND expires_at > $3
           RETURNING ${COLUMNS}`,
  },
  destroy: { name: 'gh_oidc_destroy', text: `DELETE FROM ${TABLE} WHERE model = $1 AND id = $2` },
  revokeGrant: { name: 'gh_oidc_revoke_grant', text: `DELETE FROM ${TABLE} WHERE grant_id = $1` },
  // SKIP LOCKED: token servers sharing the database purge side by side without waiting on each
  // other, or on a consume holding a row.
  purge: {
    name: 'gh_oidc_purge',
    text: `DELETE FROM ${TABLE} WHERE (model, id) IN
             (SELECT model, id FROM ${TABLE} WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  },
} as const satisfies Record<string, NamedQuery>

/**
 * The findBy or destroyBy statement for the selector's fields, and its values. One named
 * statement per combination (as listClientsQuery), so each is planned on its own index.
 */
function selectorQuery(kind: 'find_by' | 'destroy_by', model: OidcModel, s: OidcSelector, now: number): NamedQuery & { values: unknown[] } {
  const values: unknown[] = [model]
  let where = 'model = $1'
  let name = `gh_oidc_${kind}`
  for (const f of selectorFields(s)) {
    values.push(s[f])
    where += ` AND ${f} = $${values.length}`
    name += `_${f}`
  }
  if (kind === 'destroy_by') return { name, text: `DELETE FROM ${TABLE} WHERE ${where} RETURNING ${COLUMNS}`, values }
  values.push(now)
  return { name, text: `SELECT ${COLUMNS} FROM ${TABLE} WHERE ${where} AND expires_at > $${values.length} ORDER BY seq`, values }
}

/** The record a row holds; an absent optional field is left out, as the caller left it out. */
function fromRow(r: OidcRow): OidcRecord {
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

/**
 * The Postgres store's OIDC records (`Store.oidc`), in gatehouse_oidc_records (migration 5),
 * shared by every token server on the database. Each call is one autocommit statement (consume:
 * at most a few), so it is committed, and with the default synchronous_commit flushed, when it
 * resolves.
 */
export class PostgresOidcRecords implements OidcRecords {
  constructor(private readonly query: PostgresQuery) {}

  async upsert(r: OidcRecord): Promise<void> {
    await this.query(SQL.upsert, [
      r.model,
      r.id,
      JSON.stringify(r.payload),
      r.expires_at,
      r.grant_id ?? null,
      r.subject ?? null,
      r.client_id ?? null,
      r.sid ?? null,
      r.consumed_at ?? null,
    ])
  }

  async find(model: OidcModel, id: string, now: number): Promise<OidcRecord | undefined> {
    const row = (await this.query<OidcRow>(SQL.find, [model, id, now])).rows[0]
    return row === undefined ? undefined : fromRow(row)
  }

  async consume(model: OidcModel, id: string, now: number): Promise<ConsumeResult> {
    // The UPDATE's snapshot cannot tell a replay from a missing record once it lost a race (it
    // saw the row unconsumed), so that is asked by a statement of its own, with a fresh
    // snapshot. Were the record replaced by a fresh one in between, consuming is tried again.
    for (;;) {
      const consumed = (await this.query<OidcRow>(SQL.consume, [model, id, now])).rows[0]
      if (consumed !== undefined) return { status: 'first', record: fromRow(consumed) }
      const stored = (await this.query<OidcRow>(SQL.find, [model, id, now])).rows[0]
      if (stored === undefined) return { status: 'missing' }
      if (stored.consumed_at !== null) return { status: 'again', record: fromRow(stored) }
    }
  }

  async destroy(model: OidcModel, id: string): Promise<boolean> {
    return ((await this.query(SQL.destroy, [model, id])).rowCount ?? 0) > 0
  }

  async findBy(model: OidcModel, selector: OidcSelector, now: number): Promise<OidcRecord[]> {
    const q = selectorQuery('find_by', model, selector, now)
    return (await this.query<OidcRow>(q, q.values)).rows.map(fromRow)
  }

  async destroyBy(model: OidcModel, selector: OidcSelector): Promise<OidcRecord[]> {
    const q = selectorQuery('destroy_by', model, selector, 0)
    return (await this.query<OidcRow>(q, q.values)).rows.map(fromRow)
  }

  async revokeByGrantId(grantId: string): Promise<number> {
    return (await this.query(SQL.revokeGrant, [grantId])).rowCount ?? 0
  }

  async purgeExpired(now: number, limit: number): Promise<number> {
    return (await this.query(SQL.purge, [now, limit])).rowCount ?? 0
  }
}
