import type BetterSqlite3 from 'better-sqlite3'
import type { ClientRecord, KeyRecord, ListClientsQuery, TokenRecord, TokenStrategy, TokenUse } from './types.js'

type Db = BetterSqlite3.Database
type Stmt<P extends unknown[], R = unknown> = BetterSqlite3.Statement<P, R>

interface ClientRow {
  client_id: string
  secret_hash: string | null
  client_name: string
  owner: string
  data: string
  created_at: number
  updated_at: number
}

interface TokenRow {
  signature_hash: string
  grant_id: string
  token_use: TokenUse
  client_id: string
  subject: string
  scope: string
  audience: string
  strategy: TokenStrategy
  issued_at: number
  expires_at: number
  ext: string
}

interface KeyRow {
  set: string
  kid: string
  private_jwk: string
  public_jwk: string
  created_at: number
}

export type Params = Record<string, string | number | null>

/** Every statement the SQLite store runs after migration, compiled once. */
export interface SqliteStatements {
  readonly insertClient: Stmt<[Params]>
  readonly getClient: Stmt<[string], ClientRow>
  /** Indexed by listVariant(): one statement per combination of filters, so each uses its index. */
  readonly listClients: readonly Stmt<[Params], ClientRow>[]
  readonly updateClient: Stmt<[Params]>
  readonly deleteClient: Stmt<[string]>
  readonly insertToken: Stmt<[Params]>
  readonly getToken: Stmt<[string], TokenRow>
  readonly deleteToken: Stmt<[string]>
  readonly deleteTokensOfClient: Stmt<[string]>
  readonly revokeGrant: Stmt<[string], { signature_hash: string }>
  readonly purgeExpired: Stmt<[number, number]>
  readonly upsertKey: Stmt<[Params]>
  readonly listKeys: Stmt<[string], KeyRow>
  readonly deleteKey: Stmt<[string, string]>
  readonly deleteKeySet: Stmt<[string]>
}

const CLIENT_COLUMNS = 'client_id, secret_hash, client_name, owner, data, created_at, updated_at'
const TOKEN_COLUMNS = 'signature_hash, grant_id, token_use, client_id, subject, scope, audience, strategy, issued_at, expires_at, ext'

/** Which listClients statement serves a query: one bit per filter present. */
export function listVariant(q: ListClientsQuery): number {
  return (q.after === undefined ? 0 : 1) | (q.client_name === undefined ? 0 : 2) | (q.owner === undefined ? 0 : 4)
}

function listSql(variant: number): string {
  const where: string[] = []
  if (variant & 1) where.push('client_id > @after')
  if (variant & 2) where.push('client_name = @client_name')
  if (variant & 4) where.push('owner = @owner')
  const filter = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`
  return `SELECT ${CLIENT_COLUMNS} FROM gatehouse_clients ${filter} ORDER BY client_id LIMIT @limit`
}

/**
 * Compiles every statement. Throws (SQLITE_ERROR "no such table") when the schema is missing,
 * which is why the store calls this on first use rather than when it opens the file: a fresh
 * database is opened first and migrated after.
 */
export function prepareStatements(db: Db): SqliteStatements {
  return {
    insertClient: db.prepare(
      `INSERT INTO gatehouse_clients (${CLIENT_COLUMNS})
       VALUES (@client_id, @secret_hash, @client_name, @owner, @data, @created_at, @updated_at)`,
    ),
    getClient: db.prepare(`SELECT ${CLIENT_COLUMNS} FROM gatehouse_clients WHERE client_id = ?`),
    listClients: Array.from({ length: 8 }, (_, v) => db.prepare<[Params], ClientRow>(listSql(v))),
    updateClient: db.prepare(
      `UPDATE gatehouse_clients SET secret_hash = @secret_hash, client_name = @client_name, owner = @owner,
         data = @data, created_at = @created_at, updated_at = @updated_at
       WHERE client_id = @client_id`,
    ),
    deleteClient: db.prepare('DELETE FROM gatehouse_clients WHERE client_id = ?'),
    insertToken: db.prepare(
      `INSERT INTO gatehouse_access_tokens (${TOKEN_COLUMNS})
       VALUES (@signature_hash, @grant_id, @token_use, @client_id, @subject, @scope, @audience, @strategy, @issued_at, @expires_at, @ext)`,
    ),
    getToken: db.prepare(`SELECT ${TOKEN_COLUMNS} FROM gatehouse_access_tokens WHERE signature_hash = ?`),
    deleteToken: db.prepare('DELETE FROM gatehouse_access_tokens WHERE signature_hash = ?'),
    deleteTokensOfClient: db.prepare('DELETE FROM gatehouse_access_tokens WHERE client_id = ?'),
    revokeGrant: db.prepare('DELETE FROM gatehouse_access_tokens WHERE grant_id = ? RETURNING signature_hash'),
    // DELETE … LIMIT needs a compile-time option; a keyed subquery works everywhere.
    purgeExpired: db.prepare(
      `DELETE FROM gatehouse_access_tokens WHERE signature_hash IN
         (SELECT signature_hash FROM gatehouse_access_tokens WHERE expires_at <= ? LIMIT ?)`,
    ),
    upsertKey: db.prepare(
      `INSERT INTO gatehouse_keys ("set", kid, private_jwk, public_jwk, created_at)
       VALUES (@set, @kid, @private_jwk, @public_jwk, @created_at)
       ON CONFLICT ("set", kid) DO UPDATE SET private_jwk = excluded.private_jwk,
         public_jwk = excluded.public_jwk, created_at = excluded.created_at`,
    ),
    listKeys: db.prepare('SELECT "set", kid, private_jwk, public_jwk, created_at FROM gatehouse_keys WHERE "set" = ? ORDER BY created_at DESC, kid'),
    deleteKey: db.prepare('DELETE FROM gatehouse_keys WHERE "set" = ? AND kid = ?'),
    deleteKeySet: db.prepare('DELETE FROM gatehouse_keys WHERE "set" = ?'),
  }
}

export function clientParams(c: ClientRecord): Params {
  return {
    client_id: c.client_id,
    secret_hash: c.secret_hash,
    client_name: c.client_name,
    owner: c.owner,
    data: JSON.stringify(c.data),
    created_at: c.created_at,
    updated_at: c.updated_at,
  }
}

export function clientFromRow(r: ClientRow): ClientRecord {
  return { ...r, data: JSON.parse(r.data) as ClientRecord['data'] }
}

export function tokenParams(t: TokenRecord): Params {
  return {
    signature_hash: t.signature_hash,
    grant_id: t.grant_id,
    token_use: t.token_use,
    client_id: t.client_id,
    subject: t.subject,
    scope: JSON.stringify(t.scope),
    audience: JSON.stringify(t.audience),
    strategy: t.strategy,
    issued_at: t.issued_at,
    expires_at: t.expires_at,
    ext: JSON.stringify(t.ext),
  }
}

export function tokenFromRow(r: TokenRow): TokenRecord {
  return {
    ...r,
    scope: JSON.parse(r.scope) as string[],
    audience: JSON.parse(r.audience) as string[],
    ext: JSON.parse(r.ext) as TokenRecord['ext'],
  }
}

export function keyParams(k: KeyRecord): Params {
  return {
    set: k.set,
    kid: k.kid,
    private_jwk: JSON.stringify(k.private_jwk),
    public_jwk: JSON.stringify(k.public_jwk),
    created_at: k.created_at,
  }
}

export function keyFromRow(r: KeyRow): KeyRecord {
  return {
    ...r,
    private_jwk: JSON.parse(r.private_jwk) as KeyRecord['private_jwk'],
    public_jwk: JSON.parse(r.public_jwk) as KeyRecord['public_jwk'],
  }
}
