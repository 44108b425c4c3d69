import { decodeProtectedHeader, errors, jwtVerify } from 'jose'
import { parseDuration } from '../../config/duration.js'
import { ConfigError, GatehouseError } from '../../errors.js'
import { SCOPE_STRATEGIES, type ScopeStrategyName } from '../../scope.js'
import type { AuthenticatorDef } from '../types.js'
import { normaliseScope, unmetRequirement, type ClaimRequirements } from './jwks/claims.js'
import { parseJwksLocation, type JwksLocation } from './jwks/document.js'
import { JWS_ALGORITHMS, type JwsAlgorithm } from './jwks/keys.js'
import { Keyring } from './jwks/keyring.js'
import { JwksSource, jwksSourceKey } from './jwks/source.js'
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

    async function verify(token: string): Promise<Record<string, unknown>> {
      let alg: unknown
      let kid: unknown
      try {
        ;({ alg, kid } = decodeProtectedHeader(token))
      } catch {
        throw unauthorized('The JSON Web Token is malformed: its header is not valid base64url-encoded JSON.')
      }
      // Checked before any key is looked at: `none` and HS256-with-a-public-key die here (unless HS* is allowed, and then only oct keys fit).
      if (typeof alg !== 'string' || !allowed.has(alg)) {
        throw unauthorized(`JSON Web Token used signing method "${String(alg)}" which is not allowed.`)
      }
      const keyId = typeof kid === 'string' && kid !== '' ? kid : undefined
      const { keys, failed } = await keyring.find(keyId, alg)
      if (keys.length === 0) {
        if (failed.length > 0) {
          throw new GatehouseError('GATEHOUSE_ERR_UNAVAILABLE', { reason: `No JSON Web Key Set could be fetched: ${failed.join('; ')}` })
        }
        throw unauthorized(
          keyId === undefined
            ? `No JSON Web Key for algorithm "${alg}" was found in any of the provided URIs.`
            : `JSON Web Key ID "${keyId}" for algorithm "${alg}" could not be found in any of the provided URIs.`,
        )
      }
      // Several candidates only without a kid: try each, as a signature made by another key is no verdict on this one.
      let last: unknown
      for (const k of keys) {
        let key: Awaited<ReturnType<typeof k.key>>
        try {
          key = await k.key(alg)
        } catch (err) {
          last = new UnusableKey(k.kid, err)
          continue
        }
        try {
          const { payload } = await jwtVerify(token, key, { algorithms: [alg] })
          // jose checks iat only with maxTokenAge; Oathkeeper (golang-jwt WithIssuedAt) refuses a future
          // iat. Whole seconds, as jose compares nbf: a token issued this second is never "in the future".
          if (typeof payload.iat === 'number' && payload.iat > Math.floor(Date.now() / 1000)) throw unauthorized('Token used before issued.')
          return payload as Record<string, unknown>
        } catch (err) {
          if (err instanceof GatehouseError) throw err
          last = err
          if (err instanceof errors.JOSEError && !(err instanceof errors.JWSSignatureVerificationFailed)) break
        }
      }
      throw fromVerifyError(last)
    }

    return async (req, session) => {
      const token = readToken(req)
      if (token === '' || !isJwtShaped(token)) return false
      const claims = await verify(token)
      const scp = normaliseScope(claims)
      const unmet = unmetRequirement(claims, scp, requirements)
      if (unmet !== undefined) throw new GatehouseError('GATEHOUSE_ERR_FORBIDDEN', { reason: unmet })
      session.Subject = typeof claims.sub === 'string' ? claims.sub : ''
      session.Extra = claims
      return true
    }
  },
} satisfies AuthenticatorDef<JwtConfig>

function unauthorized(reason: string): GatehouseError {
  return new GatehouseError('GATEHOUSE_ERR_UNAUTHORIZED', { reason })
}

/** Maps what jose (or a key import) threw to a 401 with a reason. */
function fromVerifyError(err: unknown): GatehouseError {
  if (err instanceof errors.JWTExpired) return unauthorized('Token is expired.')
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'nbf') return unauthorized('Token is not valid yet.')
  if (err instanceof errors.JWSSignatureVerificationFailed) return unauthorized('Token signature is invalid.')
  if (err instanceof errors.JOSEError) return unauthorized(`The JSON Web Token is invalid: ${err.message}`)
  if (err instanceof UnusableKey) return unauthorized(err.message)
  return new GatehouseError('GATEHOUSE_ERR_INTERNAL', { reason: err instanceof Error ? err.message : String(err), cause: err })
}

/** A key of the set that cannot be imported (bad key material): the token cannot be verified with it. */
class UnusableKey extends Error {
  constructor(kid: string | undefined, cause: unknown) {
    super(`The JSON Web Key ${kid === undefined ? 'without kid' : `"${kid}"`} cannot be used: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

/** Exactly three dot-separated parts, as Oathkeeper's check; JWEs (five parts) are not ours. */
function isJwtShaped(token: string): boolean {
  const a = token.indexOf('.')
  if (a === -1) return false
  const b = token.indexOf('.', a + 1)
  return b !== -1 && token.indexOf('.', b + 1) === -1
}
