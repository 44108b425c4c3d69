/**
 * OAuth2 clients in Hydra 2.x's JSON shape: field names, defaults and validation as Hydra applies
 * them on create and update, so SDKs and scripts written for Hydra read the same documents.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { isDuration, parseDuration } from '../config/duration.js'
import { isPlainObject } from '../util/deep-merge.js'
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
const STRING_FIELDS = [
  'client_name', 'owner', 'client_uri', 'logo_uri', 'policy_uri', 'tos_uri', 'jwks_uri',
  'sector_identifier_uri', 'subject_type', 'userinfo_signed_response_alg',
  'request_object_signing_alg', 'token_endpoint_auth_signing_alg', 'backchannel_logout_uri',
  'frontchannel_logout_uri',
] as const
const LIST_FIELDS = [
  'redirect_uris', 'grant_types', 'response_types', 'audience', 'contacts', 'allowed_cors_origins',
  'post_logout_redirect_uris', 'request_uris',
] as const
const BOOLEAN_FIELDS = ['skip_consent', 'skip_logout_consent', 'backchannel_logout_session_required', 'frontchannel_logout_session_required'] as const
/** Per-grant lifespans: Go duration strings, or null for "use the server's ttl". */
const LIFESPAN_FIELDS = [
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
  for (const f of LIST_FIELDS) data[f] = optList(body, f)
  for (const f of BOOLEAN_FIELDS) data[f] = optBoolean(body, f)
  for (const f of LIFESPAN_FIELDS) data[f] = optLifespan(body, f)
  const scope = optString(body, 'scope')
  // Hydra gives an empty scope its default too (its own CLI sends "scope": "" when no --scope).
  data.scope = scope === '' ? 'offline_access offline openid' : scope
  checkUrls(data)
  if (body.metadata !== undefined && body.metadata !== null && !isPlainObject(body.metadata)) {
    throw invalidClientMetadata('metadata must be a JSON object')
  }
  data.metadata = body.metadata ?? {}
  if (body.jwks !== undefined && body.jwks !== null && !isPlainObject(body.jwks)) throw invalidClientMetadata('jwks must be a JSON object')
  if (isPlainObject(body.jwks)) data.jwks = body.jwks

  const grants = data.grant_types as string[]
  if (grants.length === 0) data.grant_types = ['authorization_code']
  for (const g of data.grant_types as string[]) {
    if (!GRANT_TYPES.includes(g)) throw invalidClientMetadata(`grant_types: "${g}" is not a supported grant type (supported: ${GRANT_TYPES.join(', ')})`)
  }
  if ((data.response_types as string[]).length === 0) data.response_types = ['code']
  if (data.subject_type === '') data.subject_type = 'public'
  if (!['public', 'pairwise'].includes(data.subject_type as string)) throw invalidClientMetadata('subject_type must be "public" or "pairwise"')
  if (data.userinfo_signed_response_alg === '') data.userinfo_signed_response_alg = 'none'
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
  if (secret !== undefined && secret.length < 6) throw invalidClientMetadata('client_secret must be at least 6 characters long')

  return {
    record: { client_id: clientId, data, client_name: data.client_name as string, owner: data.owner as string },
    secret,
    generated,
  }
}

/** The client as the admin API shows it (never the secret hash; the secret only when just set). */
export function clientJson(c: ClientRecord, secret?: string): Record<string, unknown> {
  return {
    client_id: c.client_id,
    ...c.data,
    ...(secret === undefined ? {} : { client_secret: secret }),
    client_secret_expires_at: 0,
    created_at: new Date(c.created_at).toISOString(),
    updated_at: new Date(c.updated_at).toISOString(),
  }
}

/** The client's client_credentials token lifespan in seconds, or undefined for the server's ttl. */
export function clientCredentialsLifespan(c: ClientRecord): number | undefined {
  const v = c.data.client_credentials_grant_access_token_lifespan
  return typeof v === 'string' && v !== '' ? Math.max(1, Math.round(parseDuration(v) / 1000)) : undefined
}

export function clientScopes(c: ClientRecord): string[] {
  return String(c.data.scope ?? '').split(' ').filter((s) => s !== '')
}

export function clientList(c: ClientRecord, field: 'grant_types' | 'audience'): string[] {
  const v = c.data[field]
  return Array.isArray(v) ? v.map(String) : []
}

/** Hydra's URL rules: redirect URIs absolute without fragment; CORS origins bare http(s) origins. */
function checkUrls(data: Record<string, unknown>): void {
  for (const field of ['redirect_uris', 'post_logout_redirect_uris', 'request_uris'] as const) {
    for (const u of data[field] as string[]) {
      const url = URL.canParse(u) ? new URL(u) : undefined
      if (url === undefined || url.hash !== '') throw invalidClientMetadata(`${field}: "${u}" must be an absolute URL without a fragment`)
    }
  }
  for (const o of data.allowed_cors_origins as string[]) {
    const url = URL.canParse(o) ? new URL(o) : undefined
    const bare = url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.search === '' && url.hash === '' && (url.pathname === '/' || url.pathname === '')
    if (!bare || /\/[^/]/.test(o.replace(/^https?:\/\//, ''))) throw invalidClientMetadata(`allowed_cors_origins: "${o}" must be an http(s) origin without path, query or credentials`)
  }
}

function optString(body: Record<string, unknown>, f: string): string {
  const v = body[f]
  if (v === undefined || v === null) return ''
  if (typeof v !== 'string') throw invalidClientMetadata(`${f} must be a string`)
  return v
}

function optList(body: Record<string, unknown>, f: string): string[] {
  const v = body[f]
  if (v === undefined || v === null) return []
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalidClientMetadata(`${f} must be a list of strings`)
  return v as string[]
}

function optBoolean(body: Record<string, unknown>, f: string): boolean {
  const v = body[f]
  if (v === undefined || v === null) return false
  if (typeof v !== 'boolean') throw invalidClientMetadata(`${f} must be a boolean`)
  return v
}

function optLifespan(body: Record<string, unknown>, f: string): string | null {
  const v = body[f]
  if (v === undefined || v === null || v === '') return null
  if (typeof v !== 'string' || !isDuration(v) || parseDuration(v) <= 0) {
    throw invalidClientMetadata(`${f} must be a positive duration such as "1h" or "30m"`)
  }
  return v
}

