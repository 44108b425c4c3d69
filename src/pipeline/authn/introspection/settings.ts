import { hash } from 'node:crypto'
import { parseDuration } from '../../../config/duration.js'
import { ConfigError } from '../../../errors.js'
import type { HandlerDeps } from '../../types.js'
import { ClientCredentialsToken } from './pre-authorization.js'

/** RFC 7230 §3.2.6 token: what a header field name may consist of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** CR/LF/NUL and other controls would split or corrupt the request (RFC 7230 §3.2). */
const FORBIDDEN_IN_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/
/** Headers the HTTP client manages itself; undici refuses them, so say so at load, not per request. */
const MANAGED = new Set(['connection', 'content-length', 'expect', 'keep-alive', 'transfer-encoding', 'upgrade'])

/**
 * `introspection_request_headers` with lower-case names (so a configured `Content-Type` and
 * ours cannot both be sent), then Content-Type set to the form type, as Oathkeeper overrides it.
 */
export function compileHeaders(configured: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  const out: Record<string, string> = {}
  const problems: string[] = []
  for (const [name, value] of Object.entries(configured)) {
    const lower = name.toLowerCase()
    if (!TOKEN.test(name)) problems.push(`introspection_request_headers: "${name}" is not a valid header name`)
    else if (MANAGED.has(lower)) problems.push(`introspection_request_headers: "${name}" is set by the HTTP client and cannot be configured`)
    else if (FORBIDDEN_IN_VALUE.test(value)) problems.push(`introspection_request_headers: the value of "${name}" contains a control character`)
    else out[lower] = value
  }
  if (problems.length > 0) throw new ConfigError(problems.length === 1 ? problems[0]! : 'invalid introspection_request_headers', problems)
  out['content-type'] = 'application/x-www-form-urlencoded'
  return out
}

/** The subset of `pre_authorization` read here (the handler's config type has the docs). */
interface PreAuthorization {
  readonly enabled?: boolean
  readonly client_id?: string
  readonly client_secret?: string
  readonly token_url?: string
  readonly scope?: readonly string[]
  readonly audience?: string
}

/**
 * The shared token source for `pre_authorization` (undefined when disabled), and a string that
 * identifies who asks (part of the introspection cache's key: answers may differ per caller).
 * Rules with the same credentials share one token. The secret is hashed into the shared key, so
 * a changed secret gets a new token and the key holds no secret.
 */
export function preAuthorizationFor(
  cfg: PreAuthorization | undefined,
  deps: HandlerDeps,
): { token: ClientCredentialsToken; identity: string } | undefined {
  if (cfg?.enabled !== true) return undefined
  if (cfg.client_id === undefined || cfg.client_secret === undefined || cfg.token_url === undefined) {
    throw new ConfigError('pre_authorization: client_id, client_secret and token_url are required when enabled')
  }
  const settings = {
    tokenUrl: httpUrl(cfg.token_url, 'pre_authorization.token_url'),
    clientId: cfg.client_id,
    clientSecret: cfg.client_secret,
    scope: cfg.scope ?? [],
    audience: cfg.audience ?? '',
  }
  const identity = JSON.stringify([settings.tokenUrl, settings.clientId, settings.scope, settings.audience])
  const token = deps.shared.get(
    `authn/oauth2_introspection/pre_authorization ${sha256(`${identity}\0${settings.clientSecret}`)}`,
    () => new ClientCredentialsToken(settings, deps.http),
  )
  return { token, identity }
}

/** Parses an http(s) URL option; anything else is a ConfigError naming the option. */
export function httpUrl(value: string, option: string): string {
  let u: URL
  try {
    u = new URL(value)
  } catch {
    throw new ConfigError(`${option}: "${value}" is not a valid URL`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`${option}: must be an http or https URL, got "${u.protocol}"`)
  return u.href
}

/** Parses a Go duration option into milliseconds; a bad one is a ConfigError naming the option. */
export function duration(value: string, option: string): number {
  try {
    return parseDuration(value)
  } catch (err) {
    throw new ConfigError(`${option}: ${(err as Error).message}`)
  }
}

export function sha256(s: string): string {
  return hash('sha256', s, 'base64url')
}
