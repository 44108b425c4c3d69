import { LRUCache } from 'lru-cache'

export interface FailureLimits {
  /** Failed authentications allowed per client id *from one source address* within `windowMs`. */
  readonly perClient: number
  /** Failed authentications allowed per source address within `windowMs`. */
  readonly perAddress: number
  readonly windowMs: number
}

interface Window {
  count: number
  readonly resetAt: number
}

/**
 * Counts failed client authentications per (client id, source address) pair and per source
 * address in fixed windows. Once either count is over its limit, further *unverified* attempts
 * are refused with 429 until the window ends, before any secret is hashed: a brute-force run
 * costs the server nothing.
 * The client's count is keyed by address too, so an attacker who knows a client id cannot lock
 * its owner out, even when the owner's secret is not in the verified-secret cache (a restart,
 * another instance): the owner, from another address, has a window of its own. The price: an
 * attacker with many addresses gets `perClient` guesses per address per window — harmless
 * against generated secrets, and each address is still bounded by `perAddress` over all ids.
 * Clients whose secret is already known good (the verified-secret cache) are never refused.
 * Memory is bounded: at most `maxKeys` windows are tracked (least recently used dropped).
 */
export class FailureLimiter {
  readonly #windows: LRUCache<string, Window>

  constructor(
    private readonly limits: FailureLimits,
    maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.#windows = new LRUCache({ max: maxKeys })
  }

  /** Seconds to wait when this client from this address, or this address, is over its limit, else 0. */
  retryAfter(clientId: string, address: string): number {
    const t = this.now()
    let wait = 0
    for (const [key, limit] of this.#keys(clientId, address)) {
      const w = this.#windows.get(key)
      if (w !== undefined && w.resetAt > t && w.count >= limit) wait = Math.max(wait, Math.ceil((w.resetAt - t) / 1000))
    }
    return wait
  }

  /** Records one failed authentication. */
  fail(clientId: string, address: string): void {
    const t = this.now()
    for (const [key] of this.#keys(clientId, address)) {
      const w = this.#windows.get(key)
      if (w === undefined || w.resetAt <= t) this.#windows.set(key, { count: 1, resetAt: t + this.limits.windowMs })
      else w.count++
    }
  }

  #keys(clientId: string, address: string): Array<[string, number]> {
    return [
      [`c\0${address}\0${clientId}`, this.limits.perClient],
      [`a\0${address}`, this.limits.perAddress],
    ]
  }
}
