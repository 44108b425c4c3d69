/**
 * The OpenID Connect provider's parts of the token server configuration (config.ts), in Hydra's
 * keys: the browser flow's cookies (`serve.cookies`), subject identifiers (`oidc.*`) and the
 * discovery overrides (`webfinger.oidc_discovery.*`). Types and schema nodes; config.ts
 * assembles them with the rest and holds the defaults.
 */
import { object, type SchemaNode } from '../config/schema.js'

/** `serve.cookies` (Hydra's keys; `same_site_legacy_workaround` is not supported). */
export interface CookieSettings {
  /** `Strict`, `Lax` or `None` (None needs an https issuer; Lax is used otherwise, as Hydra does). */
  readonly same_site_mode: 'Strict' | 'Lax' | 'None'
  /** '' = host-only cookies. */
  readonly domain: string
  /** In development mode only: whether cookies carry `Secure` (always outside it). */
  readonly secure: boolean
  readonly names: { readonly login_csrf: string; readonly consent_csrf: string; readonly session: string }
  readonly paths: { readonly session: string }
}

/** `oidc`: OpenID Connect, in Hydra's keys. */
export interface OidcSettings {
  readonly subject_identifiers: {
    /** `public` and/or `pairwise` (Hydra: [public]). */
    readonly supported_types: readonly ('public' | 'pairwise')[]
    /** Salts pairwise subjects; at least 8 characters once `pairwise` is supported. */
    readonly pairwise: { readonly salt: string }
  }
}

/** `webfinger`: Hydra's discovery overrides (`webfinger.oidc_discovery.*`). */
export interface WebfingerSettings {
  readonly oidc_discovery: {
    /** Claims added to discovery's claims_supported (always with `sub`). */
    readonly supported_claims: readonly string[]
    /** Scopes added to discovery's scopes_supported (always with offline_access, offline, openid). */
    readonly supported_scope: readonly string[]
    /** The published userinfo_endpoint ('' = `<public URL>/userinfo`). */
    readonly userinfo_url: string
  }
}

const cookieName: SchemaNode = { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9_.-]+$' }

export const cookiesSchema: SchemaNode = object({
  same_site_mode: { type: 'string', enum: ['Strict', 'Lax', 'None'] },
  domain: { type: 'string' },
  secure: { type: 'boolean' },
  names: object({ login_csrf: cookieName, consent_csrf: cookieName, session: cookieName }),
  paths: object({ session: { type: 'string', minLength: 1, pattern: '^/' } }),
})

export const oidcSchema: SchemaNode = object({
  subject_identifiers: object({
    supported_types: { type: 'array', items: { type: 'string', enum: ['public', 'pairwise'] } },
    pairwise: object({ salt: { type: 'string' } }),
  }),
})

export const webfingerSchema: SchemaNode = object({
  oidc_discovery: object({
    supported_claims: { type: 'array', items: { type: 'string' } },
    supported_scope: { type: 'array', items: { type: 'string' } },
    userinfo_url: { type: 'string' },
  }),
})
