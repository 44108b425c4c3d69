import { randomUUID } from 'node:crypto'
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose'
import { ACCESS_TOKEN_SET, type KeyManager, type SigningAlgorithm } from '../keys.js'
import type { Store, TokenRecord, TokenStrategy, TokenUse } from '../store/types.js'
import { newGrantId } from './grant-id.js'
import { hashSignature, type OpaqueTokens } from './opaque.js'

export interface IssueRequest {
  readonly clientId: string
  readonly subject: string
  readonly scope: readonly string[]
  readonly audience: readonly string[]
  readonly lifespanSeconds: number
  readonly strategy: TokenStrategy
  /** The grant the token belongs to; a new one (a grant of its own) when absent, as for client credentials. */
  readonly grantId?: string
  /** The consent's `session.access_token` claims (`ext`); none for client credentials. */
  readonly ext?: Readonly<Record<string, unknown>>
}

/** A refresh token to issue: always opaque (`ory_rt_`), always of an existing grant. */
export interface RefreshIssueRequest {
  readonly clientId: string
  readonly subject: string
  readonly scope: readonly string[]
  readonly audience: readonly string[]
  readonly lifespanSeconds: number
  readonly grantId: string
}

export interface AccessTokensDeps {
  readonly store: Store
  readonly opaque: OpaqueTokens
  readonly keys: KeyManager
  readonly issuer: string
  readonly jwtAlgorithm: SigningAlgorithm
  /** Refresh tokens (`ory_rt_`, a key of their own); introspection and revocation resolve them too. */
  readonly refresh: OpaqueTokens
}

/**
 * Issues and resolves access tokens of both strategies. Either way the token's record is stored
 * (under the hash of its signature) before it is handed out, so both kinds can be introspected
 * and revoked; a JWT that verifies but has no record (revoked, purged) is not active.
 */
export class AccessTokens {
  constructor(private readonly deps: AccessTokensDeps) {}

  async issue(r: IssueRequest): Promise<{ token: string; record: TokenRecord }> {
    const now = Math.floor(Date.now() / 1000)
    const expires = now + r.lifespanSeconds
    let token: string
    let signatureHash: string
    if (r.strategy === 'jwt') {
      token = await this.#signJwt(r, now, expires)
      signatureHash = hashSignature(token.slice(token.lastIndexOf('.') + 1))
    } else {
      ;({ token, signatureHash } = this.deps.opaque.issue())
    }
    const record: TokenRecord = {
      signature_hash: signatureHash,
      grant_id: r.grantId ?? newGrantId(),
      token_use: 'access_token',
      client_id: r.clientId,
      subject: r.subject,
      scope: r.scope,
      audience: r.audience,
      strategy: r.strategy,
      issued_at: now,
      expires_at: expires,
      ext: r.ext ?? {},
    }
    // Durable before the caller answers 200 (the store resolves only after commit).
    await this.deps.store.insertToken(record)
    return { token, record }
  }

  /**
   * A refresh token, stored in the token table (so introspection answers `token_use:
   * refresh_token` and revoking the grant removes it); its rotation state is the caller's.
   */
  async issueRefresh(r: RefreshIssueRequest): Promise<{ token: string; record: TokenRecord }> {
    const now = Math.floor(Date.now() / 1000)
    const { token, signatureHash } = this.deps.refresh.issue()
    const record: TokenRecord = {
      signature_hash: signatureHash,
      grant_id: r.grantId,
      token_use: 'refresh_token',
      client_id: r.clientId,
      subject: r.subject,
      scope: r.scope,
      audience: r.audience,
      strategy: 'opaque',
      issued_at: now,
      expires_at: now + r.lifespanSeconds,
      ext: {},
    }
    await this.deps.store.insertToken(record)
    return { token, record }
  }

  /**
   * The record of a token we issued that is still valid (not expired, not revoked), else
   * undefined. A token is only what its form says: an `ory_at_` token whose record is a refresh
   * token's (or the reverse) is not valid.
   */
  async resolve(token: string): Promise<TokenRecord | undefined> {
    const verified = await this.#verify(token)
    if (verified === undefined) return undefined
    const record = await this.deps.store.getToken(verified.hash)
    if (record === undefined || record.token_use !== verified.use || record.expires_at <= Math.floor(Date.now() / 1000)) return undefined
    return record
  }

  /**
   * The store key of a token whose signature we can verify, without touching the token table;
   * undefined for anything forged, malformed or not ours.
   */
  async signatureHashOf(token: string): Promise<string | undefined> {
    return (await this.#verify(token))?.hash
  }

  async #verify(token: string): Promise<{ hash: string; use: TokenUse } | undefined> {
    if (token.length > 8192) return undefined
    const opaque = this.deps.opaque.verify(token)
    if (opaque !== undefined) return { hash: opaque, use: 'access_token' }
    const refresh = this.deps.refresh.verify(token)
    if (refresh !== undefined) return { hash: refresh, use: 'refresh_token' }
    if (token.split('.').length !== 3) return undefined
    try {
      const header = decodeProtectedHeader(token)
      if (typeof header.kid !== 'string') return undefined
      const key = await this.deps.keys.verificationKey(ACCESS_TOKEN_SET, header.kid)
      if (key === undefined) return undefined
      // The algorithm is the key's, never the token's header (no alg confusion, no "none").
      await jwtVerify(token, key.publicKey, { algorithms: [key.alg], issuer: this.deps.issuer })
    } catch {
      return undefined
    }
    return { hash: hashSignature(token.slice(token.lastIndexOf('.') + 1)), use: 'access_token' }
  }

  async #signJwt(r: IssueRequest, now: number, expires: number): Promise<string> {
    const key = await this.deps.keys.signingKey(ACCESS_TOKEN_SET, this.deps.jwtAlgorithm)
    // `ext` as Hydra writes it (oauth2.mirror_top_level_claims, on by default): the session's extra
    // claims, `{}` for client credentials; verifiers written for Hydra read it unconditionally.
    return new SignJWT({ client_id: r.clientId, scp: [...r.scope], ext: { ...r.ext } })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.deps.issuer)
      .setSubject(r.subject)
      .setAudience([...r.audience])
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(expires)
      .setJti(randomUUID())
      .sign(key.key)
  }
}
