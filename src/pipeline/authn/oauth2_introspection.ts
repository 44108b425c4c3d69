import { ConfigError, GatehouseError } from '../../errors.js'
import { SCOPE_STRATEGIES, type ScopeStrategy, type ScopeStrategyName } from '../../scope.js'
import type { TraceContext } from '../../observability/trace-context.js'
import type { AuthenticationSession } from '../session.js'
import type { AuthenticatorDef } from '../types.js'
import { extraOf, type IntrospectionAnswer } from './introspection/answer.js'
import { INTROSPECTION_CACHE_KEY_PREFIX, IntrospectionCache, NEGATIVE_TTL_MS } from './introspection/cache.js'
import { introspect, type IntrospectionEndpoint } from './introspection/client.js'
import { feedUrlFor, RevocationSubscriber, type FeedSource } from './introspection/revocation-events.js'
import { compileHeaders, duration, httpUrl, preAuthorizationFor, sha256 } from './introspection/settings.js'
import { compileTokenFrom, tokenFromSchema, type TokenFrom } from './token-from.js'

/** `pre_authorization`: get a token with the client credentials grant and call the endpoint with it. */
export interface PreAuthorizationConfig {
  readonly enabled?: boolean
  readonly client_id?: string
  readonly client_secret?: string
  /** The token endpoint, e.g. `https://hydra:4444/oauth2/token`. */
  readonly token_url?: string
  /** Scopes requested with the token (space-joined). */
  readonly scope?: readonly string[]
  /** Sent as the `audience` parameter when not empty. */
  readonly audience?: string
}

/**
 * `retry`: how transport errors and 5xx answers of the introspection endpoint are retried (4xx
 * and malformed answers are not). Same keys and defaults as Oathkeeper, with the meaning its docs
 * give them; Oathkeeper's code uses `max_delay` as a per-attempt connection timeout instead.
 */
export interface RetryConfig {
  /** Go duration; the whole introspection (every attempt and wait) ends within it. Default "1s". */
  readonly give_up_after?: string
  /** Go duration; the longest wait between two attempts (backoff doubles up to it). Default "100ms". */
  readonly max_delay?: string
}

/** `cache`: keep introspection answers (see IntrospectionCache). */
export interface CacheConfig {
  /** Default false, as in Oathkeeper: every request is introspected. */
  readonly enabled?: boolean
  /**
   * Go duration; how long an active answer is reused. Never beyond the token's `exp`; unset means
   * "until `exp`" (answers without `exp` are then not cached). This is also how long a revoked
   * token may still be accepted. Inactive answers are kept min(ttl, 5s) (NEGATIVE_TTL_MS).
   */
  readonly ttl?: string
  /** Most answers kept (each costs 1); the least recently used are dropped. Default 1000. */
  readonly max_cost?: number
  /**
   * Beyond Oathkeeper: the token server's revocation feed, e.g.
   * `http://127.0.0.1:4445/admin/revocations/events`. Revoked tokens are then evicted at once
   * instead of when `ttl` runs out (see RevocationSubscriber); `introspection_request_headers`
   * are sent with it too (an admin API key, say). Unset: the feed next to `introspection_url`
   * (feedUrlFor) is tried once at load, and silently not used where there is none (Hydra).
   * `""` turns the feed off.
   */
  readonly revocation_events_url?: string
}

/** Config of the `oauth2_introspection` authenticator: Oathkeeper's keys and defaults. */
export interface OAuth2IntrospectionConfig {
  /** The RFC 7662 endpoint, e.g. `http://hydra:4445/admin/oauth2/introspect`. Required. */
  readonly introspection_url: string
  /**
   * How `required_scope` is checked against the token's scope. `none` (default) checks nothing
   * here and instead sends `scope=<required_scope>` to the endpoint, which answers inactive
   * (→ 401) when a scope is missing; the others check the answer's scope (→ 403).
   */
  readonly scope_strategy?: ScopeStrategyName
  readonly required_scope?: readonly string[]
  /** Each must be in the token's `aud`, else 403. */
  readonly target_audience?: readonly string[]
  /** When not empty, the token's `iss` must be one of them, else 403. */
  readonly trusted_issuers?: readonly string[]
  /** Only tokens starting with it are handled; for others this authenticator is not responsible. */
  readonly prefix?: string
  /**
   * Send the request's host as X-Forwarded-Host on the introspection call (overriding a
   * configured one). The host is the normalised one rules are matched against: the Host header
   * through the proxy, the forwarded host through the decision API.
   */
  readonly preserve_host?: boolean
  /** Extra headers on the introspection call (e.g. a Basic Authorization). */
  readonly introspection_request_headers?: Readonly<Record<string, string>>
  readonly token_from?: TokenFrom
  readonly pre_authorization?: PreAuthorizationConfig
  readonly retry?: RetryConfig
  readonly cache?: CacheConfig
}

const DEFAULT_GIVE_UP_AFTER = '1s'
const DEFAULT_MAX_DELAY = '100ms'
const DEFAULT_MAX_COST = 1000

const strings = { type: 'array', items: { type: 'string' } }

/**
 * `oauth2_introspection`: validates a bearer token at an RFC 7662 endpoint (Hydra's
 * `/admin/oauth2/introspect`, or the included token server's). No token (or one without
 * `prefix`) → not responsible. Inactive or expired → 401; `token_use` other than access_token,
 * missing audience, untrusted issuer, missing scope → 403; endpoint failure → 503 (fail closed).
 *
 * Session: Subject = `sub`; Extra = the answer's `ext` plus `username`, `client_id`, `scope`,
 * and `aud` when present — Oathkeeper's shape, so templates like `{{ .Extra.client_id }}` work.
 */
export const oauth2Introspection = {
  id: 'oauth2_introspection',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['introspection_url'],
    properties: {
      introspection_url: { type: 'string', minLength: 1 },
      scope_strategy: { type: 'string', enum: ['hierarchic', 'exact', 'wildcard', 'none'], default: 'none' },
      required_scope: strings,
      target_audience: strings,
      trusted_issuers: strings,
      prefix: { type: 'string' },
      preserve_host: { type: 'boolean' },
      introspection_request_headers: { type: 'object', additionalProperties: { type: 'string' } },
      token_from: tokenFromSchema,
      pre_authorization: {
        type: 'object',
        additionalProperties: false,
        properties: {
          enabled: { type: 'boolean', default: false },
          client_id: { type: 'string' },
          client_secret: { type: 'string' },
          token_url: { type: 'string' },
          scope: strings,
          audience: { type: 'string' },
        },
        if: { type: 'object', properties: { enabled: { const: true } }, required: ['enabled'] },
        then: {
          type: 'object',
          properties: { client_id: { type: 'string' }, client_secret: { type: 'string' }, token_url: { type: 'string', minLength: 1 } },
          required: ['client_id', 'client_secret', 'token_url'],
        },
      },
      retry: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          give_up_after: { type: 'string', default: DEFAULT_GIVE_UP_AFTER },
          max_delay: { type: 'string', default: DEFAULT_MAX_DELAY },
        },
      },
      cache: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          enabled: { type: 'boolean', default: false },
          ttl: { type: 'string' },
          max_cost: { type: 'integer', minimum: 1, default: DEFAULT_MAX_COST },
          revocation_events_url: { type: 'string' },
        },
      },
    },
  },
  create(config, deps) {
    const url = httpUrl(config.introspection_url, 'introspection_url')
    const strategyName = config.scope_strategy ?? 'none'
    // Oathkeeper's "none" is no strategy at all: the endpoint checks the scope instead.
    const strategy: ScopeStrategy | undefined = strategyName === 'none' ? undefined : SCOPE_STRATEGIES[strategyName]
    const required = config.required_scope ?? []
    const audiences = config.target_audience ?? []
    const issuers = config.trusted_issuers ?? []
    const prefix = config.prefix ?? ''
    const preserveHost = config.preserve_host === true
    const readToken = compileTokenFrom(config.token_from)

    const giveUpAfterMs = duration(config.retry?.give_up_after ?? DEFAULT_GIVE_UP_AFTER, 'retry.give_up_after')
    if (giveUpAfterMs <= 0) throw new ConfigError('retry.give_up_after: must be greater than 0')
    const cacheOn = config.cache?.enabled === true
    const ttlMs = config.cache?.ttl === undefined ? undefined : duration(config.cache.ttl, 'cache.ttl')
    const negativeTtlMs = Math.min(ttlMs ?? NEGATIVE_TTL_MS, NEGATIVE_TTL_MS)
    const maxCost = config.cache?.max_cost ?? DEFAULT_MAX_COST

    const pre = preAuthorizationFor(config.pre_authorization, deps)
    const endpoint: IntrospectionEndpoint = {
      url,
      http: deps.http,
      headers: compileHeaders(config.introspection_request_headers ?? {}),
      scopeParam: strategy === undefined ? required.join(' ') : undefined,
      giveUpAfterMs,
      maxDelayMs: duration(config.retry?.max_delay ?? DEFAULT_MAX_DELAY, 'retry.max_delay'),
      preAuthorization: pre?.token,
    }
    // One cache per endpoint and per setting that can change its answers (the scope parameter,
    // the headers, who asks), shared by every rule with the same ones and kept across reloads.
    const variant = JSON.stringify([endpoint.scopeParam ?? null, endpoint.headers, pre?.identity ?? null])
    const cacheKey = `${INTROSPECTION_CACHE_KEY_PREFIX}${url} ${sha256(variant)} max_cost=${maxCost}`
    const cache = deps.shared.get(cacheKey, (onRelease) => {
      const made = new IntrospectionCache(maxCost, metricsEndpoint(url))
      if (deps.hooks !== undefined) onRelease(deps.hooks.introspectionCache(made))
      return made
    })

    const eventsUrl = config.cache?.revocation_events_url
    if (cacheOn && eventsUrl !== '') {
      // An Oathkeeper config has no feed URL: a Gatehouse token server's is found next to its
      // introspection endpoint, with one request at load (none per request).
      const source: FeedSource = eventsUrl === undefined ? 'discovered' : 'configured'
      const events = eventsUrl === undefined ? feedUrlFor(url) : httpUrl(eventsUrl, 'cache.revocation_events_url')
      // One subscription per cache, however many rules share it.
      deps.shared.get(`authn/oauth2_introspection/revocations ${events} ${cacheKey}`, () => new RevocationSubscriber(events, endpoint.headers, deps.http, cache, deps.logger, source))
    }

    const checks: Checks = { audiences, issuers, strategy, required }
    const accept = (answer: IntrospectionAnswer, session: AuthenticationSession): true => {
      check(answer, checks)
      session.Subject = answer.sub
      session.Extra = extraOf(answer)
      return true
    }
    const call = (token: string, key: string, host: string | undefined, trace: TraceContext | undefined) => async (): Promise<IntrospectionAnswer> => {
      const fetchedAt = Date.now()
      const answer = await introspect(endpoint, token, host, trace)
      if (cacheOn) cache.set(key, answer, fetchedAt, ttlMs, negativeTtlMs, token)
      return answer
    }

    return (req, session) => {
      const token = readToken(req)
      if (token === '' || !token.startsWith(prefix)) return false
      // The answer may depend on the forwarded host, so it is part of the key then.
      const host = preserveHost ? req.url.host : undefined
      const key = IntrospectionCache.key(token, host)
      if (cacheOn) {
        // A hit answers synchronously: no promise, no microtask on the hot path.
        const hit = cache.get(key, ttlMs, negativeTtlMs)
        if (hit !== undefined) return accept(hit, session)
      }
      return cache.coalesce(key, call(token, key, host, req.trace)).then((answer) => accept(answer, session))
    }
  },
} satisfies AuthenticatorDef<OAuth2IntrospectionConfig>

/** The URL as a metrics label: no credentials, no query (either could hold a secret). */
function metricsEndpoint(url: string): string {
  const u = new URL(url)
  return `${u.origin}${u.pathname}`
}

interface Checks {
  readonly audiences: readonly string[]
  readonly issuers: readonly string[]
  readonly strategy: ScopeStrategy | undefined
  readonly required: readonly string[]
}

/** Oathkeeper's checks, in Oathkeeper's order (so the same token gets the same status). Runs on cached answers too. */
function check(a: IntrospectionAnswer, c: Checks): void {
  if (a.token_use !== '' && a.token_use !== 'access_token') {
    throw forbidden(`Use of introspected token is not an access token but "${a.token_use}"`)
  }
  if (!a.active) throw new GatehouseError('GATEHOUSE_ERR_UNAUTHORIZED', { reason: 'Access token is not active' })
  if (a.exp > 0 && a.exp * 1000 < Date.now()) {
    throw new GatehouseError('GATEHOUSE_ERR_UNAUTHORIZED', { reason: 'Access token expired' })
  }
  for (const audience of c.audiences) {
    if (!a.aud.includes(audience)) throw forbidden(`Token audience is not intended for target audience ${audience}`)
  }
  if (c.issuers.length > 0 && !c.issuers.includes(a.iss)) throw forbidden('Token issuer does not match any trusted issuer')
  if (c.strategy !== undefined) {
    for (const scope of c.required) {
      if (!c.strategy(a.scopes, scope)) throw forbidden(`Scope ${scope} was not granted`)
    }
  }
}

function forbidden(reason: string): GatehouseError {
  return new GatehouseError('GATEHOUSE_ERR_FORBIDDEN', { reason })
}
