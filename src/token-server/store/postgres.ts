import type { OidcRecords } from '../oidc/records.js'
import pg from 'pg'
import type { Logger } from '../../observability/logger.js'
import { migratePostgres, postgresMigrationStatus, rollbackPostgres } from './migrations/run-postgres.js'
import { parsePostgresDsn } from './postgres-dsn.js'
import { PostgresEvents } from './postgres-events.js'
import { toStoreError } from './postgres-errors.js'
import { PostgresOidcRecords } from './postgres-oidc.js'
import { listClientsQuery, SQL, type NamedQuery } from './postgres-sql.js'
import {
  DuplicateClientError,
  type ClientRecord,
  type KeyRecord,
  type ListClientsQuery,
  type MigrationStatus,
  type Store,
  type TokenRecord,
} from './types.js'

export interface PostgresStoreOptions {
  /** Where a dying idle connection is reported; the pool replaces it either way. */
  readonly logger?: Logger
}

/**
 * bigint columns (timestamps, count(*)) as JS numbers: pg returns int8 as strings because it
 * could exceed 2^53, which no timestamp or row count here comes near. Set per pool rather than
 * with pg.types.setTypeParser, which would change every pg user in the process.
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary' ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
}

const UNIQUE_VIOLATION = '23505'

/**
 * The production store (Hydra's `postgres://` DSN): several token servers share one database
 * through a pg.Pool each. Every statement is a single round trip in autocommit, so a token is
 * committed (and, with Postgres's default synchronous_commit, flushed) when insertToken resolves.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const
  readonly oidc: OidcRecords
  readonly #pool: pg.Pool
  readonly #schema: string | undefined
  readonly events: PostgresEvents
  #closed = false

  /** @throws ConfigError when the DSN is malformed (see parsePostgresDsn); connects lazily. */
  constructor(dsn: string, opts: PostgresStoreOptions = {}) {
    const { pool, schema } = parsePostgresDsn(dsn)
    this.#schema = schema
    this.#pool = new pg.Pool({ ...pool, types: TYPES })
    // An idle client whose connection dies (database restart, network cut) makes the pool emit
    // 'error'; without a listener Node would treat it as unhandled and end the process.
    this.#pool.on('error', (err) => opts.logger?.warn({ err: err.message }, 'an idle Postgres connection failed; the pool replaces it'))
    this.events = new PostgresEvents(this.#pool, pool, schema, opts.logger)
    this.oidc = new PostgresOidcRecords((q, values) => this.#query(q, values))
  }

  /** The one way work reaches the database: failures become StoreUnavailableError or stay as they are (postgres-errors.ts). */
  async #guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      throw toStoreError(err)
    }
  }

  #query<R extends pg.QueryResultRow = Record<string, unknown>>(q: NamedQuery, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.#guard(() => this.#pool.query<R>({ name: q.name, text: q.text, values }))
  }

  migrationStatus(): Promise<MigrationStatus> {
    return this.#guard(() => postgresMigrationStatus(this.#pool))
  }

  migrate(): Promise<number> {
    return this.#withClient((client) => migratePostgres(client, this.#schema))
  }

  rollback(steps: number): Promise<number> {
    return this.#withClient((client) => rollbackPostgres(client, this.#schema, steps))
  }

  /** Runs `fn` on a dedicated connection (session locks and transactions need one). */
  #withClient<R>(fn: (client: pg.PoolClient) => Promise<R>): Promise<R> {
    return this.#guard(async () => {
      const client = await this.#pool.connect()
      // While checked out, a client's connection errors go to the client, not the pool.
      const onError = (): void => undefined
      client.on('error', onError)
      let failed = false
      try {
        return await fn(client)
      } catch (err) {
        failed = true
        throw err
      } finally {
        client.off('error', onError)
        // After a failure the connection may be mid-transaction or still hold the lock: discard it.
        client.release(failed)
      }
    })
  }

  async createClient(c: ClientRecord): Promise<void> {
    try {
      await this.#query(SQL.insertClient, [c.client_id, c.secret_hash, c.client_name, c.owner, JSON.stringify(c.data), c.created_at, c.updated_at])
    } catch (err) {
      if (err instanceof pg.DatabaseError && err.code === UNIQUE_VIOLATION) throw new DuplicateClientError(c.client_id)
      throw err
    }
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    return (await this.#query<ClientRecord & pg.QueryResultRow>(SQL.getClient, [clientId])).rows[0]
  }

  async listClients(query: ListClientsQuery): Promise<ClientRecord[]> {
    const q = listClientsQuery(query)
    return (await this.#query<ClientRecord & pg.QueryResultRow>(q, q.values)).rows
  }

  async updateClient(c: ClientRecord): Promise<boolean> {
    const r = await this.#query(SQL.updateClient, [c.client_id, c.secret_hash, c.client_name, c.owner, JSON.stringify(c.data), c.created_at, c.updated_at])
    return (r.rowCount ?? 0) > 0
  }

  async deleteClient(clientId: string): Promise<boolean> {
    return ((await this.#query<{ n: number }>(SQL.deleteClient, [clientId])).rows[0]?.n ?? 0) > 0
  }

  async insertToken(t: TokenRecord): Promise<void> {
    await this.#query(SQL.insertToken, [
      t.signature_hash,
      t.grant_id,
      t.token_use,
      t.client_id,
      t.subject,
      JSON.stringify(t.scope),
      JSON.stringify(t.audience),
      t.strategy,
      t.issued_at,
      t.expires_at,
      JSON.stringify(t.ext),
    ])
  }

  async getToken(signatureHash: string): Promise<TokenRecord | undefined> {
    return (await this.#query<TokenRecord & pg.QueryResultRow>(SQL.getToken, [signatureHash])).rows[0]
  }

  async deleteToken(signatureHash: string): Promise<boolean> {
    return ((await this.#query(SQL.deleteToken, [signatureHash])).rowCount ?? 0) > 0
  }

  async revokeByGrantId(grantId: string): Promise<string[]> {
    return (await this.#query<{ signature_hash: string }>(SQL.revokeGrant, [grantId])).rows.map((r) => r.signature_hash)
  }

  async deleteTokensOfClient(clientId: string): Promise<number> {
    return (await this.#query(SQL.deleteTokensOfClient, [clientId])).rowCount ?? 0
  }

  async purgeExpiredTokens(nowSeconds: number, limit: number): Promise<number> {
    return (await this.#query(SQL.purgeExpired, [nowSeconds, limit])).rowCount ?? 0
  }

  async insertKey(k: KeyRecord): Promise<void> {
    await this.#query(SQL.upsertKey, [k.set, k.kid, JSON.stringify(k.private_jwk), JSON.stringify(k.public_jwk), k.created_at])
  }

  async listKeys(set: string): Promise<KeyRecord[]> {
    return (await this.#query<KeyRecord & pg.QueryResultRow>(SQL.listKeys, [set])).rows
  }

  async deleteKeys(set: string, kid?: string): Promise<number> {
    const r = kid === undefined ? await this.#query(SQL.deleteKeySet, [set]) : await this.#query(SQL.deleteKey, [set, kid])
    return r.rowCount ?? 0
  }

  async ping(): Promise<void> {
    await this.#query(SQL.ping)
  }

  async close(): Promise<void> {
    // pg-pool throws when end() is called twice; closing is idempotent here.
    if (this.#closed) return
    this.#closed = true
    await this.events.close()
    await this.#pool.end()
  }
}
