import { hash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { VerificationKey } from '../../jwks/keys.js'

/** Default of the jwt authenticator's `cache.max_tokens`. */
export const DEFAULT_MAX_TOKENS = 10_000

/** The shared-resources key of the cache for one `cache.max_tokens`: rules with the same bound share it. */
export function verifiedCacheKey(maxTokens: number): string {
  return `authn/jwt/verified max_tokens=${maxTokens}`
}

/**
 * A token whose signature and times were verified, with what a request needs to reuse it. The
 * claims are the normalised ones (scope moved into `scp`) and are never handed out: a request
 * gets a copy (see copyClaims), so later pipeline steps cannot change what the next one sees.
 */
export interface VerifiedToken {
  readonly claims: Readonly<Record<string, unknown>>
  readonly scp: readonly string[]
  /** `exp`, `nbf`, `iat` in seconds, as jose compares them; undefined when the token has none. */
  readonly exp: number | undefined
  readonly nbf: number | undefined
  readonly iat: number | undefined
  /** The key that verified the signature: once it leaves its key set, the entry is refused. */
  readonly key: VerificationKey
}

/**
 * Verified JWTs, so a repeated token costs a hash and a lookup instead of a signature check.
 * Shared by the rules with the same `cache.max_tokens`; each rule prefixes its keys with the
 * settings that change the verification verdict (see settingsTag), and runs its own audience,
 * issuer and scope checks on every hit. Keys are hashes, never tokens, so a heap dump hands out
 * no credentials. Only verified tokens are stored: a token that fails is checked again each time.
 */
export class VerifiedTokens {
  /** The entries; exposed read-only for tests. */
  readonly lru: LRUCache<string, VerifiedToken>
  /** Tokens served without a signature check (for tests and logs). A plain number: the hot path only increments it. */
  hits = 0

  constructor(maxTokens: number) {
    // ttlResolution 0: the clock is read per lookup instead of cached behind a timer per millisecond.
    this.lru = new LRUCache<string, VerifiedToken>({ max: maxTokens, ttlResolution: 0 })
  }

  /** The cache key of `token` for a rule whose settings give `tag` (see settingsTag). */
  static key(tag: string, token: string): string {
    // crypto.hash: one call, no Hash object per request (Node ≥ 20.12).
    return tag + hash('sha256', token, 'base64url')
  }

  /**
   * The entry if it may still be used at `nowMs` (wall clock): before `exp`, not before `nbf`
   * or `iat` (jose's and the authenticator's comparisons, in whole seconds), and its key still
   * published. The LRU's own ttl is only for cleaning up: its clock is refreshed on a timer that
   * runs late on a busy event loop, so the expiry is checked here, on every hit.
   */
  get(key: string, nowMs: number): VerifiedToken | undefined {
    const entry = this.lru.get(key)
    if (entry === undefined) return undefined
    const now = Math.floor(nowMs / 1000)
    if ((entry.exp !== undefined && entry.exp <= now) || entry.key.retired) {
      this.lru.delete(key)
      return undefined
    }
    // A token not yet valid (a clock stepped back since it was verified) is left for the full check.
    if ((entry.nbf !== undefined && entry.nbf > now) || (entry.iat !== undefined && entry.iat > now)) return undefined
    this.hits++
    return entry
  }

  /** Stores a verified token; the entry is dropped by the LRU at `exp` at the latest. */
  set(key: string, token: VerifiedToken, nowMs: number): void {
    if (token.exp === undefined) {
      this.lru.set(key, token)
      return
    }
    const ttl = Math.floor(token.exp * 1000 - nowMs)
    if (ttl >= 1) this.lru.set(key, token, { ttl })
  }

  dispose(): void {
    this.lru.clear()
  }
}

/**
 * The part of a rule's config that decides whether a signature is accepted: the key sets and
 * the algorithms. Rules that agree on both share entries; the checks of the claims (audience,
 * issuer, scope) run per request and per rule, so they need not be part of the key.
 */
export function settingsTag(jwksUrls: readonly string[], algorithms: readonly string[]): string {
  const settings = JSON.stringify([[...jwksUrls].sort(), [...algorithms].sort()])
  return `${hash('sha256', settings, 'base64url').slice(0, 16)}:`
}

/**
 * The session's copy of cached claims: new objects and arrays all the way down, so a pipeline
 * step that changes `Extra` changes only its own request's. Claims are JSON values, so a plain
 * walk does (several times cheaper than structuredClone for the usual few claims, `ext: {}` and
 * two short lists); past a depth no real token has, structuredClone takes over, so a hostile
 * nesting cannot exhaust the stack.
 */
export function copyClaims(claims: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return copyJson(claims, 0) as Record<string, unknown>
}

const MAX_WALK_DEPTH = 16

function copyJson(v: unknown, depth: number): unknown {
  if (typeof v !== 'object' || v === null) return v
  if (depth === MAX_WALK_DEPTH) return structuredClone(v)
  if (Array.isArray(v)) return v.map((x) => copyJson(x, depth + 1))
  // Spread first: it defines own properties, so a member named `__proto__` stays a plain member
  // below, where assigning to it on an empty object would set the prototype instead.
  const out: Record<string, unknown> = { ...(v as Record<string, unknown>) }
  for (const k of Object.keys(out)) {
    const x = out[k]
    if (typeof x === 'object' && x !== null) out[k] = copyJson(x, depth + 1)
  }
  return out
}
