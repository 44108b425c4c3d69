/**
 * OAuth2 clients in Hydra 2.x's JSON shape: field names, defaults and validation as Hydra applies
 * them on create and update, so SDKs and scripts written for Hydra read the same documents.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { formatDuration, isDuration, parseDuration } from '../config/duration.js'
import { isPlainObject } from '../util/deep-merge.js'
import { checkClientUrls } from './client-urls.js'
import { invalidClientMetadata } from './oauth-error.js'
import type { ClientRecord } from './store/types.js'

/** Grant types Hydra knows; only client_credentials is served by this token server. */
export const GRANT_TYPES = [
  'client_credentials',
  'authorization_code',
  'refresh_token',
  'implicit',
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
  'urn:ietf:params:oauth:grant-type:device_code',
]
/** `private_key_jwt` is Hydra's too, but this server cannot verify client assertions yet. */
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none']

/** String fields Hydra always returns (empty when unset). */
const STRING_FIELDS = ['client_name', 'owner', 'client_uri', 'logo_uri', 'policy_uri', 'tos_uri', 'subject_type'] as const
/** String fields Hydra leaves out of its JSON when they are empty (`omitempty`). */
const OPTIONAL_STRING_FIELDS = [
  'jwks_uri', 'sector_identifier_uri', 'userinfo_signed_response_alg', 'request_object_signing_alg',
  'token_endpoint_auth_signing_alg', 'backchannel_logout_uri', 'frontchannel_logout_uri',
] as const
/**
 * Lists Hydra always returns: `null` in the answer to the request that left them out (Go's nil
 * slice), `[]` once read back from its database. Kept as null here, shown as Hydra would.
 */
const LIST_FIELDS = ['redirect_uris', 'grant_types', 'response_types', 'audience', 'contacts', 'allowed_cors_origins'] as const
/** Lists Hydra leaves out when empty. */
const OPTIONAL_LIST_FIELDS = ['post_logout_redirect_uris', 'request_uris'] as const
/** Booleans Hydra leaves out when false; `skip_consent` is always shown; `skip_logout_consent` may be null. */
const OPTIONAL_BOOLEAN_FIELDS = ['backchannel_logout_session_required', 'frontchannel_logout_session_required'] as const
/** Per-grant lifespans: Go duration strings, or null for "use the server's ttl". */
export const LIFESPAN_FIELDS = [
  'client_credentials_grant_access_token_lifespan', 'authorization_code_grant_access_token_lifespan',
  'authorization_code_grant_id_token_lifespan', 'authorization_code_grant_refresh_token_lifespan',
  'implicit_grant_access_token_lifespan', 'implicit_grant_id_token_lifespan',
  'jwt_bearer_grant_access_token_lifespan', 'refresh_token_grant_access_token_lifespan',
  'refresh_token_grant_id_token_lifespan', 'refresh_token_grant_refresh_token_lifespan',
] as const

export interface ValidatedClient {
  readonly record: Omit<ClientRecord, 'secret_hash' | 'created_at' | 'updated_at'>
  /** The secret to hash: given, generated, or undefined to keep the stored one (updates). */
  readonly secret: string | undefined
  /** True when the server made the secret up (it is shown once). */
  readonly generated: boolean
}

/**
 * Validates a client document from the admin API and fills in Hydra's defaults.
 * @param existing for updates: the client being replaced (its id is kept, and its secret when none is sent).
 * @throws OAuthError invalid_client_metadata naming the field.
 */
export function validateClient(body: unknown, existing?: ClientRecord): ValidatedClient {
  if (!isPlainObject(body)) throw invalidClientMetadata('the client must be a JSON object')
  const data: Record<string, unknown> = {}
  for (const f of STRING_FIELDS) data[f] = optString(body, f)
  for (const f of OPTIONAL_STRING_FIELDS) data[f] = optString(body, f)
  for (const f of LIST_FIELDS) data[f] = optList(body, f)
  for (const f of OPTIONAL_LIST_FIELDS) data[f] = optList(body, f)
  data.skip_consent = optBoolean(body, 'skip_consent') ?? false
  data.skip_logout_consent = optBoolean(body, 'skip_logout_consent')
  for (const f of OPTIONAL_BOOLEAN_FIELDS) data[f] = optBoolean(body, f) ?? false
  Object.assign(data, validateLifespans(body))
  const scope = optString(body, 'scope')
  // Hydra gives an empty scope its default too (its own CLI sends "scope": "" when no --scope).
  data.scope = scope === '' ? 'offline_access offline openid' : scope
  checkClientUrls(data)
  if (body.metadata !== undefined && body.metadata !== null && !isPlainObject(body.metadata)) {
    throw invalidClientMetadata('metadata must be a JSON object')
  }
  data.metadata = body.metadata ?? null
  if (body.jwks !== undefined && body.jwks !== null && !isPlainObject(body.jwks)) throw invalidClientMetadata('jwks must be a JSON object')
  data.jwks = isPlainObject(body.jwks) ? body.jwks : null
  if (data.jwks !== null && data.jwks_uri !== '') throw invalidClientMetadata('Fields jwks and jwks_uri can not both be set, you must choose one.')

  // Unset grant and response types stay unset, as in Hydra; fosite reads them as
  // ["authorization_code"] and ["code"] (clientGrantTypes).
  for (const g of (data.grant_types as string[] | null) ?? []) {
    if (!GRANT_TYPES.includes(g)) throw invalidClientMetadata(`grant_types: "${g}" is not a supported grant type (supported: ${GRANT_TYPES.join(', ')})`)
  }
  if (data.subject_type === '') data.subject_type = 'public'
  if (!['public', 'pairwise'].includes(data.subject_type as string)) throw invalidClientMetadata('subject_type must be "public" or "pairwise"')
  if (data.userinfo_signed_response_alg === '') data.userinfo_signed_response_alg = 'none'
  if (data.userinfo_signed_response_alg !== 'none' && data.userinfo_signed_response_alg !== 'RS256') {
    throw invalidClientMetadata("Field userinfo_signed_response_alg can either be 'none' or 'RS256'.")
  }
  const method = optString(body, 'token_endpoint_auth_method') || 'client_secret_basic'
  if (!AUTH_METHODS.includes(method)) {
    throw invalidClientMetadata(`token_endpoint_auth_method: "${method}" is not supported (supported: ${AUTH_METHODS.join(', ')})`)
  }
  data.token_endpoint_auth_method = method
  const strategy = optString(body, 'access_token_strategy')
  if (strategy !== '' && strategy !== 'opaque' && strategy !== 'jwt') throw invalidClientMetadata('access_token_strategy must be "opaque" or "jwt"')
  if (strategy !== '') data.access_token_strategy = strategy

  const clientId = existing?.client_id ?? (optString(body, 'client_id') || randomUUID())
  if (clientId.length > 255 || /[\s/?#]/.test(clientId)) throw invalidClientMetadata('client_id must be at most 255 characters without spaces, "/", "?" or "#"')

  let secret = optString(body, 'client_secret') || undefined
  let generated = false
  if (method === 'none') {
    if (secret !== undefined) throw invalidClientMetadata('a client with token_endpoint_auth_method "none" must not have a client_secret')
  } else if (secret === undefined && (existing === undefined || existing.secret_hash === null)) {
    secret = randomBytes(24).toString('base64url')
    generated = true
  }
  if (secret !== undefined && secret.length < 6) throw invalidClientMetadata('Field client_secret must contain a secret that is at least 6 characters long.')

  return {
    record: { client_id: clientId, data, client_name: data.client_name as string, owner: data.owner as string },
    secret,
    generated,
  }
}

/**
 * The client as the admin API shows it (never the secret hash; the secret only when just set), in
 * Hydra's shape. `stored`: the client as read back (GET, list), where Hydra's database turns unset
 * lists into `[]`, an unset jwks into `{}` and unset metadata into `null`; otherwise the answer to
 * the write that sent it (POST, PUT, PATCH), where they are `null` or left out.
 */
export function clientJson(c: ClientRecord, opts: { secret?: string; stored?: boolean } = {}): Record<string, unknown> {
  const d = c.data
  const list = (f: (typeof LIST_FIELDS)[number]): unknown => (Array.isArray(d[f]) ? d[f] : opts.stored ? [] : null)
  const str = (f: string): string => (typeof d[f] === 'string' ? (d[f] as string) : '')
  // Hydra's field order.
  const out: Record<string, unknown> = {
    client_id: c.client_id,
    client_name: str('client_name'),
    redirect_uris: list('redirect_uris'),
    grant_types: list('grant_types'),
    response_types: list('response_types'),
    scope: str('scope'),
    audience: list('audience'),
    owner: str('owner'),
    policy_uri: str('policy_uri'),
    allowed_cors_origins: list('allowed_cors_origins'),
    tos_uri: str('tos_uri'),
    client_uri: str('client_uri'),
    logo_uri: str('logo_uri'),
    contacts: list('contacts'),
  }
  if (opts.secret !== undefined) out.client_secret = opts.secret
  out.client_secret_expires_at = 0
  out.subject_type = d.subject_type ?? 'public'
  for (const f of OPTIONAL_STRING_FIELDS) if (typeof d[f] === 'string' && d[f] !== '') out[f] = d[f]
  if (isPlainObject(d.jwks)) out.jwks = d.jwks
  else if (opts.stored) out.jwks = {}
  out.token_endpoint_auth_method = d.token_endpoint_auth_method
  for (const f of OPTIONAL_LIST_FIELDS) if (Array.isArray(d[f]) && (d[f] as unknown[]).length > 0) out[f] = d[f]
  for (const f of OPTIONAL_BOOLEAN_FIELDS) if (d[f] === true) out[f] = true
  if (isPlainObject(d.metadata)) out.metadata = d.metadata
  else if (opts.stored) out.metadata = null
  if (d.access_token_strategy === 'jwt' || d.access_token_strategy === 'opaque') out.access_token_strategy = d.access_token_strategy
  out.skip_consent = d.skip_consent === true
  out.skip_logout_consent = typeof d.skip_logout_consent === 'boolean' ? d.skip_logout_consent : null
  out.created_at = new Date(c.created_at).toISOString()
  out.updated_at = new Date(c.updated_at).toISOString()
  for (const f of LIFESPAN_FIELDS) out[f] = typeof d[f] === 'string' && d[f] !== '' ? normaliseLifespan(d[f] as string) : null
  return out
}

/**
 * The ten per-grant lifespans of a client document: each a positive Go duration (kept in Go's
 * canonical form, as Hydra stores a time.Duration) or null. Fields not named are null.
 */
export function validateLifespans(body: Readonly<Record<string, unknown>>): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  for (const f of LIFESPAN_FIELDS) out[f] = optLifespan(body, f)
  return out
}

/** Clients stored before lifespans were normalised hold what was sent ("90m"): shown as Hydra would. */
function normaliseLifespan(v: string): string {
  return isDuration(v) ? (formatDuration(parseDuration(v)) ?? v) : v
}

/** The grant types a client may use: unset means ["authorization_code"] (fosite's DefaultClient). */
export function clientGrantTypes(c: ClientRecord): string[] {
  const v = c.data.grant_types
  return Array.isArray(v) && v.length > 0 ? v.map(String) : ['authorization_code']
}

/** The client's client_credentials token lifespan in seconds, or undefined for the server's ttl. */
export function clientCredentialsLifespan(c: ClientRecord): number | undefined {
  const v = c.data.client_credentials_grant_access_token_lifespan
  return typeof v === 'string' && v !== '' ? Math.max(1, Math.round(parseDuration(v) / 1000)) : undefined
}

export function clientScopes(c: ClientRecord): string[] {
  return String(c.data.scope ?? '').split(' ').filter((s) => s !== '')
}

export function clientList(c: ClientRecord, field: 'audience' | 'redirect_uris'): string[] {
  const v = c.data[field]
  return Array.isArray(v) ? v.map(String) : []
}

function optString(body: Record<string, unknown>, f: string): string {
  const v = body[f]
  if (v === undefined || v === null) return ''
  if (typeof v !== 'string') throw invalidClientMetadata(`${f} must be a string`)
  return v
}

function optList(body: Record<string, unknown>, f: string): string[] | null {
  const v = body[f]
  if (v === undefined || v === null) return null
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalidClientMetadata(`${f} must be a list of strings`)
  return v as string[]
}

function optBoolean(body: Record<string, unknown>, f: string): boolean | null {
  const v = body[f]
  if (v === undefined || v === null) return null
  if (typeof v !== 'boolean') throw invalidClientMetadata(`${f} must be a boolean`)
  return v
}

function optLifespan(body: Record<string, unknown>, f: string): string | null {
  const v = body[f]
  if (v === undefined || v === null || v === '') return null
  const go = typeof v === 'string' && isDuration(v) && parseDuration(v) > 0 ? formatDuration(parseDuration(v)) : undefined
  if (go === undefined) throw invalidClientMetadata(`${f} must be a positive duration such as "1h" or "30m"`)
  return go
}

