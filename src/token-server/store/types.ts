import type { OidcRecords } from '../oidc/records.js'

/**
 * The token server's storage contract. Three implementations (memory, sqlite, postgres) pass the
 * same contract test (test/token-store.test.ts). Every method is async so the SQL stores can use
 * a pool; the memory and SQLite stores answer synchronously underneath.
 *
 * What is stored is never a credential in clear: tokens by the SHA-256 of their signature,
 * client secrets by a salted slow hash (hash.ts).
 */

/** A registered OAuth2 client as stored. `data` holds Hydra's client fields (client.ts). */
export interface ClientRecord {
  readonly client_id: string
  /** The hasher's encoded string (`$pbkdf2-sha256$…`, `$2b$…`), or null for a public client. */
  readonly secret_hash: string | null
  /** Hydra's client JSON without `client_id`, `client_secret`, `created_at`, `updated_at`. */
  readonly data: Readonly<Record<string, unknown>>
  readonly client_name: string
  readonly owner: string
  /** Milliseconds since the epoch. */
  readonly created_at: number
  readonly updated_at: number
}

export type TokenStrategy = 'opaque' | 'jwt'

/** What a stored token is for; introspection reports it as `token_use`, as Hydra does. */
export type TokenUse = 'access_token' | 'refresh_token'

/** An issued token. Looked up by `signature_hash`, never by the token itself. */
export interface TokenRecord {
  /** Hex SHA-256 of the token's signature part. */
  readonly signature_hash: string
  /**
   * The grant (token family, Hydra's request id) the token belongs to: every token issued from
   * one authorization, and from refreshes of it, shares it, so the grant can be revoked as a
   * whole (revokeByGrantId). A client-credentials token is a grant of its own.
   */
  readonly grant_id: string
  readonly token_use: TokenUse
  readonly client_id: string
  readonly subject: string
  readonly scope: readonly string[]
  readonly audience: readonly string[]
  readonly strategy: TokenStrategy
  /** Seconds since the epoch, as in the token claims. */
  readonly issued_at: number
  readonly expires_at: number
  /** Extra claims (`ext` in introspection). */
  readonly ext: Readonly<Record<string, unknown>>
}

/** One JSON Web Key of a key set (`/admin/keys/{set}`); the private part never leaves the admin API. */
export interface KeyRecord {
  readonly set: string
  readonly kid: string
  /** The private JWK (includes kid, alg, use). */
  readonly private_jwk: Readonly<Record<string, unknown>>
  /** The public JWK published at /.well-known/jwks.json. */
  readonly public_jwk: Readonly<Record<string, unknown>>
  /** Milliseconds since the epoch; the newest key of a set signs. */
  readonly created_at: number
}

export interface ListClientsQuery {
  readonly limit: number
  /** Keyset pagination: only clients whose id sorts after this one. */
  readonly after?: string
  readonly client_name?: string
  readonly owner?: string
}

export interface MigrationStatus {
  /** Migrations applied (0 for a new database). */
  readonly applied: number
  /** Migrations this version knows. */
  readonly latest: number
}

/** Thrown by createClient when the id is taken; the admin API answers 409. */
export class DuplicateClientError extends Error {
  constructor(readonly clientId: string) {
    super(`a client with id "${clientId}" already exists`)
    this.name = 'DuplicateClientError'
  }
}

/** Thrown when the store cannot be reached or fails; the APIs answer 503, never a stack trace. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoreUnavailableError'
  }
}

/**
 * A channel every token server sharing the store hears (Postgres: LISTEN/NOTIFY). Stores that
 * only one process uses (memory, SQLite) have none: their events stay in the process.
 */
export interface StoreEvents {
  publish(payload: string): Promise<void>
  /** `listener(null)`: events may have been missed (the listening connection was re-established). */
  subscribe(listener: (payload: string | null) => void): () => void
}

export interface Store {
  readonly kind: 'memory' | 'sqlite' | 'postgres'
  /** The OpenID Connect flows' records (oidc/records.ts): challenges, sessions, consents, codes, refresh state. */
  readonly oidc: OidcRecords
  /** Cluster-wide events, when the store can carry them. */
  readonly events?: StoreEvents

  /** Where the schema stands; `serve` refuses to run while `applied < latest`. */
  migrationStatus(): Promise<MigrationStatus>
  /** Applies pending migrations in order, each in its own transaction. */
  migrate(): Promise<number>
  /** Undoes the last `steps` applied migrations, newest first (`migrate sql down`); returns how many. */
  rollback(steps: number): Promise<number>

  createClient(client: ClientRecord): Promise<void>
  getClient(clientId: string): Promise<ClientRecord | undefined>
  /** Ordered by client_id; filters are exact matches. */
  listClients(query: ListClientsQuery): Promise<ClientRecord[]>
  /** Replaces the stored client; false when it does not exist. */
  updateClient(client: ClientRecord): Promise<boolean>
  /** Deletes the client, every token issued to it and its OIDC records; false when it did not exist. */
  deleteClient(clientId: string): Promise<boolean>

  /** Resolves only once the token is durable (committed and synced). */
  insertToken(token: TokenRecord): Promise<void>
  getToken(signatureHash: string): Promise<TokenRecord | undefined>
  /** Deletes one token; false when it was not there. */
  deleteToken(signatureHash: string): Promise<boolean>
  /**
   * Deletes every token of one grant (refresh reuse, a revoked token of the grant, a revoked
   * consent); returns the signature hashes deleted, so each can be announced to gateways.
   */
  revokeByGrantId(grantId: string): Promise<string[]>
  /** Deletes every token of a client; returns how many. */
  deleteTokensOfClient(clientId: string): Promise<number>
  /** Deletes at most `limit` tokens with `expires_at <= nowSeconds`; returns how many. */
  purgeExpiredTokens(nowSeconds: number, limit: number): Promise<number>

  insertKey(key: KeyRecord): Promise<void>
  /** A set's keys, newest first. */
  listKeys(set: string): Promise<KeyRecord[]>
  /** Deletes one key (or the whole set when kid is undefined); returns how many. */
  deleteKeys(set: string, kid?: string): Promise<number>

  /** Cheap round trip for /health/ready. */
  ping(): Promise<void>
  close(): Promise<void>
}
