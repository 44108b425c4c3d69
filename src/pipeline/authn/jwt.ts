import { parseDuration } from '../../config/duration.js'
import { ConfigError, GatehouseError } from '../../errors.js'
import { SCOPE_STRATEGIES, type ScopeStrategyName } from '../../scope.js'
import type { AuthenticationSession } from '../session.js'
import type { AuthenticatorDef } from '../types.js'
import { normaliseScope, unmetRequirement, type ClaimRequirements } from './jwt/claims.js'
import { parseJwksLocation, type JwksLocation } from '../jwks/document.js'
import { JWS_ALGORITHMS, type JwsAlgorithm } from '../jwks/keys.js'
import { Keyring } from './jwt/keyring.js'
import { JwksSource, jwksSourceKey } from './jwt/source.js'
import { copyClaims, DEFAULT_MAX_TOKENS, settingsTag, verifiedCacheKey, VerifiedTokens, type VerifiedToken } from './jwt/verified-cache.js'
import { compileVerifier } from './jwt/verify.js'
import { compileTokenFrom, tokenFromSchema, type TokenFrom } from './token-from.js'

/** Config of the `jwt` authenticator; the keys are Oathkeeper's, so its rule files work unchanged. */
export interface JwtConfig {
  /**
   * Where the verification keys are: `https://issuer/.well-known/jwks.json`, `file:///etc/keys.json`
   * (or `file://relative/keys.json`). The keys of all sets are merged. Required.
   */
  readonly jwks_urls: readonly string[]
  /** Algorithms a token may be signed with. Default (and when empty) `["RS256"]`; `none` is never accepted. */
  readonly allowed_algorithms?: readonly JwsAlgorithm[]
  /** Scopes the token must grant (read from `scp`, `scope` or `scopes`), checked with `scope_strategy`. */
  readonly required_scope?: readonly string[]
  /** How `required_scope` is matched. Default `none`, which cannot be combined with a `required_scope`. */
  readonly scope_strategy?: ScopeStrategyName
  /** Audiences that must all be in the token's `aud`. */
  readonly target_audience?: readonly string[]
  /** When set, the token's `iss` must be one of these. */
  readonly trusted_issuers?: readonly string[]
  /** Where the token is read; default `Authorization: Bearer <token>`. */
  readonly token_from?: TokenFrom
  /** Longest a request waits for a key set fetch (Go duration). Default `1s`. */
  readonly jwks_max_wait?: string
  /** How long a fetched key set is used before it is fetched again (Go duration). Default `30s`. */
  readonly jwks_ttl?: string
  /** Beyond Oathkeeper: reuse of verified tokens (see VerifiedTokens). */
  readonly cache?: JwtCacheConfig
}

/**
 * `cache`: a repeated token is not verified again while it is valid (never past its `exp`, not
 * before its `nbf`, and only while the key that verified it is still published). Audience,
 * issuer and scope are still checked on every request.
 */
export interface JwtCacheConfig {
  /** Default true. */
  readonly enabled?: boolean
  /** Most verified tokens kept (shared by the rules with the same value); the least recently used go first. Default 10000. */
  readonly max_tokens?: number
}

const stringList = { type: 'array', items: { type: 'string' } } as const

/**
 * `jwt`: verifies a signed JWT against the rule's key sets. Statuses:
 * - no token, or a token that is not three dot-separated parts → not responsible (Oathkeeper), so
 *   an `oauth2_introspection` authenticator later in the list can take opaque tokens;
 * - unparseable, bad signature, alg not allowed, no key for its kid, expired, not yet valid,
 *   issued in the future → 401;
 * - valid but the wrong audience, an untrusted issuer or a missing scope → 403. Oathkeeper answers
 *   401 here; Gatehouse answers as RFC 6750 §3.1 and its own `oauth2_introspection` do: the
 *   credentials are genuine, just not sufficient;
 * - no key set could be fetched → 503 (fail closed).
 * On success: Subject = `sub`, Extra = all claims, the scope moved into `Extra.scp` as a list.
 * A token seen again within its validity is not verified again (`cache`, see VerifiedTokens);
 * the audience, issuer and scope checks run on every request.
 */
export const jwt = {
  id: 'jwt',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['jwks_urls'],
    properties: {
      jwks_urls: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
      allowed_algorithms: { type: 'array', items: { type: 'string', enum: [...JWS_ALGORITHMS] }, default: ['RS256'] },
      required_scope: stringList,
      scope_strategy: { type: 'string', enum: Object.keys(SCOPE_STRATEGIES), default: 'none' },
      target_audience: stringList,
      trusted_issuers: stringList,
      token_from: tokenFromSchema,
      jwks_max_wait: { type: 'string', default: '1s' },
      jwks_ttl: { type: 'string', default: '30s' },
      cache: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          enabled: { type: 'boolean', default: true },
          max_tokens: { type: 'integer', minimum: 1, default: DEFAULT_MAX_TOKENS },
        },
      },
    },
  },
  create(config, deps) {
    const problems: string[] = []
    const duration = (key: string, value: string): number => {
      try {
        return parseDuration(value)
      } catch (err) {
        problems.push(`${key}: ${(err as Error).message}`)
        return 0
      }
    }
    const ttlMs = duration('jwks_ttl', config.jwks_ttl ?? '30s')
    const maxWaitMs = duration('jwks_max_wait', config.jwks_max_wait ?? '1s')
    const locations: JwksLocation[] = []
    config.jwks_urls.forEach((url, i) => {
      try {
        locations.push(parseJwksLocation(url, `jwks_urls[${i}]`))
      } catch (err) {
        problems.push(...(err instanceof ConfigError ? err.problems : [(err as Error).message]))
      }
    })
    const strategyName = config.scope_strategy ?? 'none'
    const requiredScope = config.required_scope ?? []
    // Oathkeeper accepts this rule and then fails every request with it; saying so at load is kinder.
    if (requiredScope.length > 0 && strategyName === 'none') {
      problems.push('required_scope is set but scope_strategy is "none", which checks nothing; set scope_strategy to hierarchic, exact or wildcard')
    }
    if (problems.length > 0) throw new ConfigError(problems.length === 1 ? problems[0]! : 'invalid jwt config', problems)

    const sources = locations.map((loc) =>
      deps.shared.get(jwksSourceKey(loc.url), () => new JwksSource(loc, { http: deps.http, logger: deps.logger })),
    )
    for (const s of sources) s.prefetch()
    const keyring = new Keyring(sources, ttlMs, maxWaitMs)
    const algorithms = config.allowed_algorithms?.length ? config.allowed_algorithms : ['RS256']
    const allowed: ReadonlySet<string> = new Set(algorithms)
    const requirements: ClaimRequirements = {
      audience: config.target_audience ?? [],
      issuers: config.trusted_issuers ?? [],
      scope: requiredScope,
      strategy: SCOPE_STRATEGIES[strategyName],
    }
    const readToken = compileTokenFrom(config.token_from)

    const verify = compileVerifier(keyring, allowed)
    const cacheOn = config.cache?.enabled !== false
    const maxTokens = config.cache?.max_tokens ?? DEFAULT_MAX_TOKENS
    const cache = cacheOn ? deps.shared.get(verifiedCacheKey(maxTokens), () => new VerifiedTokens(maxTokens)) : undefined
    const tag = settingsTag(config.jwks_urls, algorithms)

    // The rule's own checks, on a fresh verification or a cached one alike.
    const accept = (token: VerifiedToken, session: AuthenticationSession): true => {
      const unmet = unmetRequirement(token.claims, token.scp, requirements)
      if (unmet !== undefined) throw new GatehouseError('GATEHOUSE_ERR_FORBIDDEN', { reason: unmet })
      const claims = copyClaims(token.claims)
      session.Subject = typeof claims.sub === 'string' ? claims.sub : ''
      session.Extra = claims
      return true
    }
    const verifyAndStore = async (token: string, key: string | undefined): Promise<VerifiedToken> => {
      const v = await verify(token)
      const scp = normaliseScope(v.claims)
      const { exp, nbf, iat } = v.claims
      const entry: VerifiedToken = { claims: v.claims, scp, exp: seconds(exp), nbf: seconds(nbf), iat: seconds(iat), key: v.key }
      if (key !== undefined) cache?.set(key, entry, Date.now())
      return entry
    }

    return (req, session) => {
      const token = readToken(req)
      if (token === '' || !isJwtShaped(token)) return false
      if (cache === undefined) return verifyAndStore(token, undefined).then((v) => accept(v, session))
      const key = VerifiedTokens.key(tag, token)
      // A hit answers synchronously: no signature check, no promise. Only while the key sets are
      // within jwks_ttl, so that a refetch (which retires removed keys) is never skipped.
      const hit = keyring.fresh() ? cache.get(key, Date.now()) : undefined
      if (hit !== undefined) return accept(hit, session)
      return verifyAndStore(token, key).then((v) => accept(v, session))
    }
  },
} satisfies AuthenticatorDef<JwtConfig>

/** A NumericDate claim in seconds; undefined when absent (jose has already refused a non-number). */
function seconds(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined
}

/** Exactly three dot-separated parts, as Oathkeeper's check; JWEs (five parts) are not ours. */
function isJwtShaped(token: string): boolean {
  const a = token.indexOf('.')
  if (a === -1) return false
  const b = token.indexOf('.', a + 1)
  return b !== -1 && token.indexOf('.', b + 1) === -1
}
