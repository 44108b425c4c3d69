import type { ListClientsQuery } from './types.js'

/**
 * The Postgres store's statements. Each has a name, so pg prepares it once per pooled connection
 * and later calls skip parsing and planning. JSON values are sent as text and cast to jsonb:
 * pg would turn a JS array into a Postgres array, not JSON.
 */
export interface NamedQuery {
  readonly name: string
  readonly text: string
}

const CLIENT_COLUMNS = 'client_id, secret_hash, client_name, owner, data, created_at, updated_at'
const TOKEN_COLUMNS = 'signature_hash, grant_id, token_use, client_id, subject, scope, audience, strategy, issued_at, expires_at, ext'

export const SQL = {
  ping: { name: 'gh_ping', text: 'SELECT 1' },
  insertClient: {
    name: 'gh_insert_client',
    text: `INSERT INTO gatehouse_clients (${CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)`,
  },
  getClient: { name: 'gh_get_client', text: `SELECT ${CLIENT_COLUMNS} FROM gatehouse_clients WHERE client_id = $1` },
  updateClient: {
    name: 'gh_update_client',
    text: `UPDATE gatehouse_clients SET secret_hash = $2, client_name = $3, owner = $4, data = $5::jsonb,
             created_at = $6, updated_at = $7
           WHERE client_id = $1`,
  },
  // One statement, so the client, its tokens and its OIDC records go together without a
  // transaction round trip; the others are deleted only when the client existed.
  deleteClient: {
    name: 'gh_delete_client',
    text: `WITH c AS (DELETE FROM gatehouse_clients WHERE client_id = $1 RETURNING client_id),
                t AS (DELETE FROM gatehouse_access_tokens WHERE client_id IN (SELECT client_id FROM c)),
                o AS (DELETE FROM gatehouse_oidc_records WHERE client_id IN (SELECT client_id FROM c))
           SELECT count(*) AS n FROM c`,
  },
  insertToken: {
    name: 'gh_insert_token',
    text: `INSERT INTO gatehouse_access_tokens (${TOKEN_COLUMNS})
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11::jsonb)`,
  },
  getToken: { name: 'gh_get_token', text: `SELECT ${TOKEN_COLUMNS} FROM gatehouse_access_tokens WHERE signature_hash = $1` },
  deleteToken: { name: 'gh_delete_token', text: 'DELETE FROM gatehouse_access_tokens WHERE signature_hash = $1' },
  deleteTokensOfClient: { name: 'gh_delete_client_tokens', text: 'DELETE FROM gatehouse_access_tokens WHERE client_id = $1' },
  revokeGrant: { name: 'gh_revoke_grant', text: 'DELETE FROM gatehouse_access_tokens WHERE grant_id = $1 RETURNING signature_hash' },
  // SKIP LOCKED: token servers sharing the database purge side by side without waiting on each other.
  purgeExpired: {
    name: 'gh_purge_expired',
    text: `DELETE FROM gatehouse_access_tokens WHERE signature_hash IN
             (SELECT signature_hash FROM gatehouse_access_tokens WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  },
  upsertKey: {
    name: 'gh_upsert_key',
    text: `INSERT INTO gatehouse_keys ("set", kid, private_jwk, public_jwk, created_at) VALUES ($1, $2, $3::jsonb, $4::jsonb, $5)
           ON CONFLICT ("set", kid) DO UPDATE SET private_jwk = excluded.private_jwk,
             public_jwk = excluded.public_jwk, created_at = excluded.created_at`,
  },
  listKeys: {
    name: 'gh_list_keys',
    text: 'SELECT "set", kid, private_jwk, public_jwk, created_at FROM gatehouse_keys WHERE "set" = $1 ORDER BY created_at DESC, kid',
  },
  deleteKey: { name: 'gh_delete_key', text: 'DELETE FROM gatehouse_keys WHERE "set" = $1 AND kid = $2' },
  deleteKeySet: { name: 'gh_delete_key_set', text: 'DELETE FROM gatehouse_keys WHERE "set" = $1' },
} as const satisfies Record<string, NamedQuery>

/**
 * The listClients statement for the filters present, and its values. One statement per
 * combination rather than `($n IS NULL OR col = $n)`, which keeps the planner off the indexes.
 */
export function listClientsQuery(q: ListClientsQuery): NamedQuery & { values: unknown[] } {
  const where: string[] = []
  const values: unknown[] = []
  let name = 'gh_list_clients'
  const add = (column: string, op: string, value: string | undefined): void => {
    if (value === undefined) return
    values.push(value)
    where.push(`${column} ${op} $${values.length}`)
    name += `_${column}`
  }
  add('client_id', '>', q.after)
  add('client_name', '=', q.client_name)
  add('owner', '=', q.owner)
  values.push(q.limit)
  const filter = where.length === 0 ? '' : `WHERE ${where.join(' AND ')} `
  return { name, text: `SELECT ${CLIENT_COLUMNS} FROM gatehouse_clients ${filter}ORDER BY client_id LIMIT $${values.length}`, values }
}
