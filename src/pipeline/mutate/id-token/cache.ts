import { hash } from 'node:crypto'
import { LRUCache } from 'lru-cache'

/** Shared-resources key of the one token cache of a gateway (not under the signer prefix). */
export const ID_TOKEN_CACHE_KEY = 'id_token:cache'

/** Bounds memory: about 1 KB per RS256 token, so roughly 10 MB when full. */
const MAX_TOKENS = 10_000

interface Entry {
  readonly token: Promise<string>
  /** When the token expires (its `exp`), in ms since the epoch. */
  readonly expiresAtMs: number
}

/** What identifies one signed token: everything that goes into it except the times and jti. */
export interface TokenIdentity {
  readonly issuer: string
  readonly jwksUrl: string
  readonly ttlMs: number
  /** The rendered claims template (text, as rendered). */
  readonly claims: string
  readonly subject: string
}

/**
 * Reuses signed id_tokens, as Oathkeeper does: a token is handed out again while more than a
 * tenth of its ttl is left, so upstreams never receive one about to expire. Shared by all rules
 * (the identity holds everything that differs between them). Concurrent requests for a token
 * not yet cached share one signature.
 */
export class IdTokenCache {
  readonly #lru = new LRUCache<string, Entry>({ max: MAX_TOKENS })

  /**
   * The cached token for `id`, or a new one from `sign(nowMs, expSeconds)`. A failed signature
   * is not cached.
   */
  get(id: TokenIdentity, sign: (nowMs: number, exp: number) => Promise<string>): Promise<string> {
    // Hashed: the key stays small whatever the claims' size, and holds no claim values.
    const key = hash('sha256', JSON.stringify([id.issuer, id.jwksUrl, id.ttlMs, id.claims, id.subject]), 'base64url')
    const now = Date.now()
    const margin = id.ttlMs / 10
    const hit = this.#lru.get(key)
    if (hit !== undefined && hit.expiresAtMs - now >= margin) return hit.token
    // exp in whole seconds (RFC 7519 NumericDate), never later than now + ttl.
    const exp = Math.floor((now + id.ttlMs) / 1000)
    const entry: Entry = { token: sign(now, exp), expiresAtMs: exp * 1000 }
    this.#lru.set(key, entry, { ttl: Math.max(1, entry.expiresAtMs - now - margin) })
    entry.token.catch(() => {
      if (this.#lru.peek(key) === entry) this.#lru.delete(key)
    })
    return entry.token
  }
}
