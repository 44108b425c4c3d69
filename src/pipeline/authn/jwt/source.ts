import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import type { Disposable } from '../../shared.js'
import { parseJwks, readJwksText, type JwksLocation } from '../../jwks/document.js'
import { KeySet } from '../../jwks/keys.js'

/** The shared-resources key of the source for a key set URL: one source per URL per gateway (while a rule names it). */
export function jwksSourceKey(url: string): string {
  return `jwt:jwks:${url}`
}

export interface JwksSourceOptions {
  readonly http: Dispatcher
  readonly logger: Logger
  /**
   * Unknown-kid refetches happen at most once per this interval (default 10 s). Tokens naming
   * kids the issuer never published cost no fetch at all within it, however many arrive.
   */
  readonly minRefreshIntervalMs?: number
  /** After a failed fetch, no new attempt for this long (default 1 s), so a JWKS server that is down is not hammered. */
  readonly failureBackoffMs?: number
}

/** A fetch is abandoned after this long even when no request waits for it any more. */
const FETCH_TIMEOUT_MS = 10_000

/**
 * One key set URL's keys, fetched and cached for all rules that name the URL (and kept across
 * rule reloads while a rule names it, so a reload does not refetch). Why not jose's createRemoteJWKSet: it caches one
 * URL per verifier function (so not shared across rules), has no file:// support, and its
 * "cooldown" is a single setting, where Oathkeeper's config separates the cache TTL (per rule)
 * from how long a request may wait for a fetch.
 *
 * Policy:
 * - `keys(ttl)`: the cached set when younger than ttl; else a fetch, which every concurrent caller
 *   shares (one fetch per URL at a time) and waits for at most `maxWait`. A fetch that is only slow
 *   lets the stale set serve meanwhile (as Oathkeeper); a failed one does not: fail closed.
 * - `refresh()`: for a kid the set does not have (the issuer may have rotated keys); at most one
 *   fetch per `minRefreshIntervalMs`, shared by all callers.
 */
export class JwksSource implements Disposable {
  readonly #http: Dispatcher
  readonly #logger: Logger
  readonly #minRefreshMs: number
  readonly #backoffMs: number
  readonly #abort = new AbortController()
  #set: KeySet | undefined
  #fetchedAt = -Infinity
  #attemptAt = -Infinity
  #error: string | undefined
  #inflight: Promise<void> | undefined
  #fetches = 0

  constructor(
    readonly location: JwksLocation,
    opts: JwksSourceOptions,
  ) {
    this.#http = opts.http
    this.#logger = opts.logger
    this.#minRefreshMs = opts.minRefreshIntervalMs ?? 10_000
    this.#backoffMs = opts.failureBackoffMs ?? 1_000
  }

  /** How many fetches were started (for logs and tests). */
  get fetches(): number {
    return this.#fetches
  }

  /** Why the last fetch failed; undefined after a success. */
  get lastError(): string | undefined {
    return this.#error
  }

  /** Starts the first fetch in the background (at rule load), so the first request finds keys. */
  prefetch(): void {
    if (this.#set === undefined) void this.#fetch(0)
  }

  /** The set when it is younger than `ttlMs`: the request path's synchronous common case. */
  fresh(ttlMs: number): KeySet | undefined {
    return this.#set !== undefined && performance.now() - this.#fetchedAt < ttlMs ? this.#set : undefined
  }

  /** A set no older than `ttlMs` (or a stale one while a slow fetch runs); undefined when none is usable. */
  async keys(ttlMs: number, maxWaitMs: number): Promise<KeySet | undefined> {
    const hit = this.fresh(ttlMs)
    if (hit !== undefined) return hit
    // After a failure, wait out the backoff: a down server is asked once per backoff, not once per request.
    const timedOut = await within(this.#fetch(this.#error === undefined ? 0 : this.#backoffMs), maxWaitMs)
    const now = this.fresh(ttlMs)
    if (now !== undefined) return now
    return timedOut && this.#error === undefined ? this.#set : undefined
  }

  /** Refetches for an unknown kid, rate-limited; returns the (possibly unchanged) set. */
  async refresh(maxWaitMs: number): Promise<KeySet | undefined> {
    await within(this.#fetch(this.#minRefreshMs), maxWaitMs)
    return this.#error === undefined ? this.#set : undefined
  }

  /** Stops fetching and retires the keys: tokens they verified are checked again by whoever still asks. */
  dispose(): void {
    this.#abort.abort()
    this.#set?.retire()
  }

  /** The running fetch, a new one, or undefined when the last one started less than `spacingMs` ago. */
  #fetch(spacingMs: number): Promise<void> | undefined {
    if (this.#inflight !== undefined) return this.#inflight
    const now = performance.now()
    if (now - this.#attemptAt < spacingMs || this.#abort.signal.aborted) return undefined
    this.#attemptAt = now
    this.#fetches++
    const p = this.#load().finally(() => {
      this.#inflight = undefined
    })
    this.#inflight = p
    return p
  }

  /** Never rejects: the outcome is recorded in #set / #error, which callers read. */
  async #load(): Promise<void> {
    try {
      const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)])
      // Keys the new set still publishes are carried over (what they verified stays valid); the others are retired.
      const set = new KeySet(parseJwks(await readJwksText(this.location, this.#http, signal)), this.#set)
      if (this.#abort.signal.aborted) {
        set.retire()
        return
      }
      this.#set = set
      this.#fetchedAt = performance.now()
      this.#error = undefined
      this.#logger.debug({ jwks_url: this.location.url, keys: set.size }, 'JSON Web Key Set fetched')
    } catch (err) {
      this.#error = err instanceof Error ? err.message : String(err)
      if (!this.#abort.signal.aborted) {
        this.#logger.warn({ jwks_url: this.location.url, reason: this.#error }, 'could not fetch the JSON Web Key Set')
      }
    }
  }
}

/** Waits for `p` at most `ms`; true when the wait timed out. */
async function within(p: Promise<void> | undefined, ms: number): Promise<boolean> {
  if (p === undefined) return false
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), ms)
  })
  try {
    return await Promise.race([p.then(() => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}
