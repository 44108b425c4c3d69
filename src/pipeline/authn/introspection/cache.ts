import { hash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { IntrospectionAnswer } from './answer.js'

/**
 * How long an inactive answer is kept (at most; never longer than the rule's `cache.ttl`).
 * Long enough that a client replaying a garbage or revoked token costs the token server one
 * call per few seconds, short enough that nothing is lost: an inactive token does not become
 * active later.
 */
export const NEGATIVE_TTL_MS = 5_000

/** A cached introspection answer and when it was fetched (each rule checks its own ttl against it). */
export interface CachedAnswer {
  readonly answer: IntrospectionAnswer
  readonly fetchedAt: number
  /** SHA-256 (hex) of the token's signature part: how the token server names it in revocation events. */
  readonly signature: string
}

/** Shared-resource keys of the caches start with this (see oauth2_introspection.ts). */
export const INTROSPECTION_CACHE_KEY_PREFIX = 'authn/oauth2_introspection '

/** Counters for metrics. Mutable numbers on purpose: the hot path only increments them. */
export interface IntrospectionCacheStats {
  /** Answers served from the cache. */
  hits: number
  /** Introspection calls made (cache misses that were not coalesced). */
  misses: number
  /** Requests that waited for another request's introspection call of the same token. */
  coalesced: number
  /** Entries dropped because the cache was full (`max_cost`). */
  evictions: number
}

/**
 * The introspection answers of one endpoint (and one set of settings that can change its
 * answers), shared by every rule that uses them and kept across rule reloads. Keys are a SHA-256
 * of the token, never the token itself, so a heap dump does not hand out credentials.
 * Also the single-flight table: concurrent requests with the same uncached token share one call.
 */
export class IntrospectionCache {
  readonly stats: IntrospectionCacheStats = { hits: 0, misses: 0, coalesced: 0, evictions: 0 }
  /** The entries; exposed read-only for metrics and tests. */
  readonly lru: LRUCache<string, CachedAnswer>
  readonly #inflight = new Map<string, Promise<IntrospectionAnswer>>()
  /** Revocation indexes: token signature hash → keys, client id → keys (see revoke*). */
  readonly #bySignature = new Map<string, Set<string>>()
  readonly #byClient = new Map<string, Set<string>>()
  /**
   * When a signature or client was last revoked. An introspection call that started before that
   * moment may still bring back "active"; such an answer is not stored.
   */
  readonly #revokedAt = new LRUCache<string, number>({ max: 100_000, ttl: 5 * 60_000 })
  /** When clear() last ran: no active answer fetched before it is stored. */
  #clearedAt = 0
  /**
   * Set while revocation events cannot reach this cache (the stream is down): answers fetched
   * meanwhile are kept at most this long, since a revocation would go unnoticed.
   */
  shortTtlMs: number | undefined

  /**
   * @param maxEntries Oathkeeper's `max_cost`: every entry costs 1.
   * @param endpoint the introspection URL without credentials or query, for metrics labels.
   */
  constructor(
    maxEntries: number,
    readonly endpoint = '',
  ) {
    this.lru = new LRUCache<string, CachedAnswer>({
      max: maxEntries,
      // Read the clock on each lookup: the default (1 ms) caches it and arms a timer to reset it,
      // a setTimeout per millisecond under load, and late on a busy event loop.
      ttlResolution: 0,
      dispose: (v, k, reason) => {
        if (reason === 'evict') this.stats.evictions++
        unindex(this.#bySignature, v.signature, k)
        unindex(this.#byClient, v.answer.client_id, k)
      },
    })
  }

  /** Answers held now (what the metrics' entries gauge shows). */
  get entries(): number {
    return this.lru.size
  }

  /** The cache key of a token: base64url SHA-256, plus whatever else varies per request. */
  static key(token: string, variant = ''): string {
    // crypto.hash: one call, no Hash object per request (a third of createHash's cost; Node ≥ 20.12).
    const digest = hash('sha256', token, 'base64url')
    return variant === '' ? digest : `${digest}|${variant}`
  }

  /**
   * The cached answer if this rule may still use it: active answers for `ttlMs` after they were
   * fetched (undefined: until the LRU entry expires, i.e. until `exp`), inactive ones for
   * `negativeTtlMs`. Another rule may have stored it with a longer ttl; this rule's bound wins.
   */
  get(key: string, ttlMs: number | undefined, negativeTtlMs: number): IntrospectionAnswer | undefined {
    const entry = this.lru.get(key)
    if (entry === undefined) return undefined
    const now = Date.now()
    // lru-cache reads a clock it refreshes on a timer, which runs late on a busy event loop: the
    // entry can outlive its ttl by that lag. An answer past its token's exp is dropped here.
    if (entry.answer.active && entry.answer.exp > 0 && entry.answer.exp * 1000 <= now) {
      this.lru.delete(key)
      return undefined
    }
    const age = now - entry.fetchedAt
    const maxAge = entry.answer.active ? (ttlMs ?? Infinity) : negativeTtlMs
    if (age >= maxAge) return undefined
    this.stats.hits++
    return entry.answer
  }

  /**
   * Stores an answer. Active answers live min(ttlMs, exp − now) so none outlives its token;
   * without either bound they are not stored. Inactive ones live `negativeTtlMs`.
   */
  set(key: string, answer: IntrospectionAnswer, fetchedAt: number, ttlMs: number | undefined, negativeTtlMs: number, token: string): void {
    let ttl: number
    const signature = signatureHash(token)
    if (answer.active) {
      // Revoked while this call was under way: the "active" it brought back is already stale.
      const revoked = Math.max(this.#revokedAt.get(`s ${signature}`) ?? 0, this.#revokedAt.get(`c ${answer.client_id}`) ?? 0)
      if (revoked >= fetchedAt || this.#clearedAt >= fetchedAt) return
      const untilExp = answer.exp > 0 ? answer.exp * 1000 - Date.now() : Infinity
      ttl = Math.min(ttlMs ?? Infinity, untilExp, this.shortTtlMs ?? Infinity)
      if (ttl === Infinity) return
    } else {
      ttl = negativeTtlMs
    }
    if (!(ttl >= 1)) return
    this.lru.set(key, { answer, fetchedAt, signature }, { ttl: Math.floor(ttl) })
    index(this.#bySignature, signature, key)
    if (answer.client_id !== '') index(this.#byClient, answer.client_id, key)
  }

  /** Evicts every answer for the token with this signature hash (a revocation event). */
  revokeSignature(signature: string): number {
    this.#revokedAt.set(`s ${signature}`, Date.now())
    return this.#evict(this.#bySignature.get(signature))
  }

  /** Evicts every answer for tokens of this client (all its tokens were revoked). */
  revokeClient(clientId: string): number {
    this.#revokedAt.set(`c ${clientId}`, Date.now())
    return this.#evict(this.#byClient.get(clientId))
  }

  /**
   * Drops every answer (revocation events were missed, or a feed has just been found). Answers
   * fetched before now and stored later (calls under way) are refused too: they may be stale.
   */
  clear(): void {
    this.#clearedAt = Date.now()
    this.lru.clear()
  }

  #evict(keys: Set<string> | undefined): number {
    if (keys === undefined) return 0
    const all = [...keys]
    for (const k of all) this.lru.delete(k)
    return all.length
  }

  /**
   * Runs `call` unless a call for `key` is already under way, in which case its result is
   * shared. The entry is removed when the call settles, so a failure is not remembered.
   */
  coalesce(key: string, call: () => Promise<IntrospectionAnswer>): Promise<IntrospectionAnswer> {
    const running = this.#inflight.get(key)
    if (running !== undefined) {
      this.stats.coalesced++
      return running
    }
    this.stats.misses++
    const p = call().finally(() => {
      this.#inflight.delete(key)
    })
    this.#inflight.set(key, p)
    return p
  }

  dispose(): void {
    this.lru.clear()
    this.#inflight.clear()
  }
}

/** The token server's name for a token: hex SHA-256 of the part after the last '.'. */
export function signatureHash(token: string): string {
  return hash('sha256', token.slice(token.lastIndexOf('.') + 1), 'hex')
}

function index(map: Map<string, Set<string>>, id: string, key: string): void {
  let set = map.get(id)
  if (set === undefined) map.set(id, (set = new Set()))
  set.add(key)
}

function unindex(map: Map<string, Set<string>>, id: string, key: string): void {
  const set = map.get(id)
  if (set === undefined) return
  set.delete(key)
  if (set.size === 0) map.delete(id)
}
