import type { KeySet, VerificationKey } from '../../jwks/keys.js'
import type { JwksSource } from './source.js'

/** Keys found for a token, and the sources that could not give keys (for a 503 rather than a 401). */
export interface KeyLookup {
  readonly keys: readonly VerificationKey[]
  /** `url: reason` of each source without a usable set. */
  readonly failed: readonly string[]
}

/**
 * The keys of one rule's `jwks_urls`, merged (Oathkeeper: a kid is looked up in every set). The
 * sources themselves are shared per URL; this holds the rule's own TTL and wait.
 */
export class Keyring {
  constructor(
    private readonly sources: readonly JwksSource[],
    private readonly ttlMs: number,
    private readonly maxWaitMs: number,
  ) {}

  /**
   * True when every set is younger than this rule's `jwks_ttl`. A verified token is reused only
   * then: otherwise the full check runs, which refetches the sets and so notices a removed key.
   */
  fresh(): boolean {
    for (const s of this.sources) if (s.fresh(this.ttlMs) === undefined) return false
    return true
  }

  /**
   * Keys that may verify a token with this kid (or none) and alg. When no key fits, the sets
   * are refetched once (rate-limited by the sources) in case the issuer rotated its keys.
   */
  async find(kid: string | undefined, alg: string): Promise<KeyLookup> {
    const { ttlMs, maxWaitMs } = this
    const first = await this.#collect(kid, alg, (s) => s.fresh(ttlMs) ?? s.keys(ttlMs, maxWaitMs))
    if (first.keys.length > 0) return first
    return this.#collect(kid, alg, (s) => s.refresh(maxWaitMs))
  }

  async #collect(
    kid: string | undefined,
    alg: string,
    get: (s: JwksSource) => KeySet | undefined | Promise<KeySet | undefined>,
  ): Promise<KeyLookup> {
    const got = this.sources.map(get)
    // Await only when some source is not fresh: the common case stays free of extra promises.
    const sets = got.some((g) => g instanceof Promise) ? await Promise.all(got) : (got as Array<KeySet | undefined>)
    const keys: VerificationKey[] = []
    const failed: string[] = []
    sets.forEach((set, i) => {
      if (set === undefined) {
        const s = this.sources[i]!
        failed.push(`${s.location.url}: ${s.lastError ?? 'no key set fetched in time'}`)
      } else {
        keys.push(...set.candidates(kid, alg))
      }
    })
    return { keys, failed }
  }
}
