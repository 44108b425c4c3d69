import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { Hasher } from './hash.js'

/**
 * Remembers recently verified (client, secret) pairs so a busy client does not pay a 25,000-round
 * PBKDF2 on every token request. An entry maps client id + SHA-256(secret) to the stored hash
 * that secret verified against; it counts only while the client's current stored hash is that
 * same string. So a secret change (new hash) or a deleted client (no hash to compare) invalidates
 * it at once, in every process, with no event to deliver. Wrong secrets are never cached.
 *
 * Concurrent checks of the same pair against the same hash share one hashing: after a restart,
 * a client with 100 connections open would otherwise run 100 PBKDF2s at once, queued on libuv's
 * four threads, and its first requests would wait for all of them.
 */
export class SecretCache {
  readonly #lru: LRUCache<string, string>
  /** Hashings under way, by cache key + stored hash; removed when they settle. */
  readonly #inFlight = new Map<string, Promise<boolean>>()

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

  verify(clientId: string, secret: string, storedHash: string): Promise<boolean> {
    const key = keyOf(clientId, secret)
    if (this.#lru.get(key) === storedHash) return Promise.resolve(true)
    const flight = `${key}\0${storedHash}`
    let verifying = this.#inFlight.get(flight)
    if (verifying === undefined) {
      verifying = this.hasher.verify(secret, storedHash).then((ok) => {
        if (ok) this.#lru.set(key, storedHash)
        return ok
      })
      this.#inFlight.set(flight, verifying)
      // Bounded by the requests waiting on it: each entry leaves as soon as its hashing ends.
      const done = (): void => void this.#inFlight.delete(flight)
      verifying.then(done, done)
    }
    return verifying
  }
}

function keyOf(clientId: string, secret: string): string {
  return `${clientId}\0${createHash('sha256').update(secret).digest('base64')}`
}
