import { randomUUID } from 'node:crypto'
import { parseDuration } from '../../config/duration.js'
import { ConfigError, GatehouseError } from '../../errors.js'
import { isPlainObject } from '../../util/deep-merge.js'
import { parseJwksLocation, type JwksLocation } from '../jwks/document.js'
import { compileTemplate, type Template } from '../template.js'
import type { MutatorDef } from '../types.js'
import { ID_TOKEN_CACHE_KEY, IdTokenCache } from './id-token/cache.js'
import { ID_TOKEN_SIGNER_PREFIX, IdTokenSigner } from './id-token/signer.js'

/** Config of the `id_token` mutator (Oathkeeper's keys). */
export interface IdTokenConfig {
  /** The `iss` of the tokens. Required. */
  readonly issuer_url: string
  /**
   * The key set holding the PRIVATE signing key: `file:///etc/gatehouse/id_token.jwks.json` or an
   * http(s) URL. The first private key signs (with its `alg`). `gatehouse credentials generate`
   * makes one. Its public keys are served at the gateway API's `/.well-known/jwks.json`. Required.
   */
  readonly jwks_url: string
  /** Lifetime of a token (Go duration, at least 1s). Default `15m`. */
  readonly ttl?: string
  /**
   * A template (rendered with the session, like the header mutator's) that must produce a JSON
   * object, e.g. `{"aud": ["https://api.internal"], "tenant": "{{ print .Extra.tenant }}"}`. Its
   * members become claims; `iss`, `sub`, `exp`, `iat`, `nbf` and `jti` are always set by the mutator.
   */
  readonly claims?: string
}

/**
 * `id_token`: replaces the upstream request's Authorization with `Bearer <JWT>` describing the
 * session, signed by a key the upstream can check against the gateway's `/.well-known/jwks.json`.
 * Claims as Oathkeeper: the rendered `claims`, then iss = issuer_url, sub = Subject, iat = nbf =
 * now, exp = now + ttl, jti = a random UUID. A token is reused for the same (issuer, key set, ttl,
 * rendered claims, subject) until less than a tenth of its ttl is left.
 */
export const idToken = {
  id: 'id_token',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['issuer_url', 'jwks_url'],
    properties: {
      issuer_url: { type: 'string', minLength: 1 },
      jwks_url: { type: 'string', minLength: 1 },
      ttl: { type: 'string', default: '15m' },
      claims: { type: 'string' },
    },
  },
  create(config, deps) {
    const problems: string[] = []
    let ttlMs = 0
    try {
      ttlMs = parseDuration(config.ttl ?? '15m')
      if (ttlMs < 1000) problems.push(`ttl: "${config.ttl}" is shorter than 1s, so tokens would expire as they are issued (exp is in whole seconds)`)
    } catch (err) {
      problems.push(`ttl: ${(err as Error).message}`)
    }
    let location: JwksLocation | undefined
    try {
      location = parseJwksLocation(config.jwks_url, 'jwks_url')
    } catch (err) {
      problems.push(...(err instanceof ConfigError ? err.problems : [(err as Error).message]))
    }
    let claimsTemplate: Template | undefined
    if (config.claims !== undefined && config.claims !== '') {
      try {
        claimsTemplate = compileTemplate(config.claims, 'claims')
      } catch (err) {
        problems.push(...(err instanceof ConfigError ? err.problems : [(err as Error).message]))
      }
    }
    if (problems.length > 0 || location === undefined) throw new ConfigError(problems[0] ?? 'invalid id_token config', problems)

    const loc = location
    const signer = deps.shared.get(`${ID_TOKEN_SIGNER_PREFIX}${loc.url}`, (onRelease) => {
      let opened: IdTokenSigner
      try {
        opened = IdTokenSigner.open(loc, deps)
      } catch (err) {
        throw new ConfigError(`jwks_url: ${loc.url}: ${(err as Error).message}`)
      }
      // Its public keys are served at the API's /.well-known/jwks.json while a rule signs with it.
      if (deps.hooks !== undefined) onRelease(deps.hooks.publishKeys(opened))
      return opened
    })
    const cache = deps.shared.get(ID_TOKEN_CACHE_KEY, () => new IdTokenCache())
    const issuer = config.issuer_url
    const jwksUrl = loc.url

    return async (_req, session) => {
      const rendered = claimsTemplate === undefined ? '' : claimsTemplate(session)
      const subject = session.Subject
      // The claims are parsed only when a token is signed: a cache hit needs the rendered text alone.
      const token = await cache.get({ issuer, jwksUrl, ttlMs, claims: rendered, subject }, (nowMs, exp) => {
        const now = Math.floor(nowMs / 1000)
        const custom = claimsTemplate === undefined ? {} : parseClaims(rendered)
        return signer.sign({ ...custom, exp, jti: randomUUID(), iat: now, iss: issuer, nbf: now, sub: subject })
      })
      session.Header.Authorization = `Bearer ${token}`
    }
  },
} satisfies MutatorDef<IdTokenConfig>

/** The rendered claims template as an object; anything else is a template error (500). */
function parseClaims(text: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw templateError(`the rendered claims are not valid JSON (${(err as Error).message})`)
  }
  if (!isPlainObject(value)) throw templateError('the rendered claims are not a JSON object')
  return value
}

function templateError(reason: string): GatehouseError {
  return new GatehouseError('GATEHOUSE_ERR_TEMPLATE', { reason: `id_token: ${reason}`, details: { template: 'claims' } })
}
