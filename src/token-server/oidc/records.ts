/**
 * Storage for the OpenID Connect flows, shaped as node-oidc-provider shapes its adapters: one small
 * contract over JSON records of a few models, implemented once per store (memory, SQLite,
 * Postgres) and checked by one contract test (test/oidc-records.test.ts). The token server's
 * older `Store` methods (clients, access tokens, keys) stay as they are; this is `Store.oidc`.
 *
 * What is stored is never a credential in clear: codes and refresh tokens are keyed by the
 * SHA-256 of their signature, as access tokens are; challenges and verifiers are random ids
 * whose knowledge is the capability, and each is single-use (consume).
 */

/** What a record is. Each model is its own key space: the same id may exist in two models. */
export type OidcModel =
  /** A login request (`login_challenge`), from the authorization endpoint to login accept/reject. */
  | 'login_request'
  /** A consent request (`consent_challenge`), from the login verifier to consent accept/reject. */
  | 'consent_request'
  /** A logout request (`logout_challenge`). */
  | 'logout_request'
  /** A verifier (`login_verifier`, `consent_verifier`) the browser brings back to /oauth2/auth. */
  | 'verifier'
  /** An authentication session (`sid`), remembered when login accept says `remember`. */
  | 'login_session'
  /** A granted consent, remembered or not (listed and revoked by subject and client). */
  | 'consent_session'
  /** An authorization code, by the SHA-256 of its signature. */
  | 'auth_code'
  /** A refresh token's rotation state, by the SHA-256 of its signature. */
  | 'refresh_token'
  /**
   * An issued grant, by its grant_id: what its tokens are minted from (subject, scopes, the
   * consent's session claims), read by the refresh grant and by userinfo; kept as long as the
   * grant's longest-lived token.
   */
  | 'grant'
  /**
   * A revoked grant's tombstone, by grant_id (no grant_id field of its own, so revokeByGrantId
   * leaves it): issuance that raced the revocation finds it after writing its tokens and takes
   * them back. Kept as long as a token of the grant could have lived.
   */
  | 'revoked_grant'

export interface OidcRecord {
  readonly model: OidcModel
  readonly id: string
  /** The model's own fields, as JSON. */
  readonly payload: Readonly<Record<string, unknown>>
  /** Seconds since the epoch; the record is gone (find answers undefined) once now >= expires_at. */
  readonly expires_at: number
  /** The grant (token family) the record belongs to, for revokeByGrantId. */
  readonly grant_id?: string | undefined
  readonly subject?: string | undefined
  readonly client_id?: string | undefined
  /** The authentication session id (`sid`). */
  readonly sid?: string | undefined
  /** Seconds since the epoch when consume() first succeeded; undefined while unused. */
  readonly consumed_at?: number | undefined
}

/** consume()'s answer: `first` exactly once per record, however many consume it concurrently. */
export type ConsumeResult =
  | { readonly status: 'first'; readonly record: OidcRecord }
  /** Consumed before (the record as stored, with its first consumed_at): a replay. */
  | { readonly status: 'again'; readonly record: OidcRecord }
  | { readonly status: 'missing' }

/** The indexed fields a bulk find or delete can select by; every given field must match. */
export interface OidcSelector {
  readonly subject?: string
  readonly client_id?: string
  readonly sid?: string
  readonly grant_id?: string
}

export interface OidcRecords {
  /** Inserts or replaces the record (model, id). Resolves once it is durable. */
  upsert(record: OidcRecord): Promise<void>
  /** The record, consumed or not; undefined when absent or expired (`now` in seconds). */
  find(model: OidcModel, id: string, now: number): Promise<OidcRecord | undefined>
  /**
   * Marks the record consumed at `now`, atomically: of any number of concurrent calls (in this
   * process or in other processes sharing the database) exactly one answers `first`. An expired
   * record is `missing`. Resolves once durable.
   */
  consume(model: OidcModel, id: string, now: number): Promise<ConsumeResult>
  /** Deletes one record; false when it was not there. */
  destroy(model: OidcModel, id: string): Promise<boolean>
  /** Unexpired records of a model matching the selector (at least one field), oldest first. */
  findBy(model: OidcModel, selector: OidcSelector, now: number): Promise<OidcRecord[]>
  /** Deletes the records of a model matching the selector (at least one field); returns them. */
  destroyBy(model: OidcModel, selector: OidcSelector): Promise<OidcRecord[]>
  /** Deletes every record, of any model, of one grant; returns how many. */
  revokeByGrantId(grantId: string): Promise<number>
  /** Deletes at most `limit` records with expires_at <= now; returns how many (the background purge). */
  purgeExpired(now: number, limit: number): Promise<number>
}
