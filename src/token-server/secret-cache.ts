import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { Hasher } from './hash.js'

/**
 * Remembers recently verified (client, secret) pairs so a busy client does not pay a 25,000-round
 * PBKDF2 on every token request. An entry maps client id + SHA-256(secret) to the stored hash
 * that secret verified against; it counts only while the client's current stored hash is that
 * same string. So a secret change (new hash) or a deleted client (no hash to compare) invalidates
 * it at once, in every process, with no event to deliver. Wrong secrets are never cached.
 */
export class SecretCache {
  readonly #lru: LRUCache<string, string>

  constructor(
    readonly hasher: Hasher,
    max = 10_000,
  ) {
    this.#lru = new LRUCache({ max, ttl: 10 * 60_000 })
  }

  /** True when this pair was verified against this very stored hash recently (no hashing). */
  known(clientId: string, secret: string, storedHash: string): boolean {
    return this.#lru.get(keyOf(clientId, secret)) === storedHash
  }

  async verify(clientId: string, secret: string, storedHash: string): Promise<boolean> {
    const key = keyOf(clientId, secret)
    if (this.#lru.get(key) === storedHash) return true
    const ok = await this.hasher.verify(secret, storedHash)
    if (ok) this.#lru.set(key, storedHash)
    return ok
  }
}

function keyOf(clientId: string, secret: string): string {
  return `${clientId}\0${createHash('sha256').update(secret).digest('base64')}`
}
