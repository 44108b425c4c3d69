import { parseDuration } from '../../../config/duration.js'
import type { TokenServerConfig } from '../../config.js'

/** What issuance reads from the config, in seconds and resolved URLs; built once at start. */
export interface IssueSettings {
  /** `ttl.auth_code`. */
  readonly authCodeSeconds: number
  /** `ttl.id_token`. */
  readonly idTokenSeconds: number
  /** `ttl.refresh_token`. */
  readonly refreshTokenSeconds: number
  /** `oauth2.grant.refresh_token.rotation_grace_period`, at most 300 (Hydra clamps it there). */
  readonly rotationGraceSeconds: number
  /** `oidc.subject_identifiers.supported_types`, as Hydra resolves it (see subjectTypes). */
  readonly subjectTypes: readonly ('public' | 'pairwise')[]
  readonly pairwiseSalt: string
  /** Discovery's claims_supported and scopes_supported. */
  readonly claimsSupported: readonly string[]
  readonly scopesSupported: readonly string[]
  /** `urls.self.public`, or the issuer: where the public endpoints are published. */
  readonly publicUrl: string
  /** Discovery's userinfo_endpoint. */
  readonly userinfoUrl: string
}

/** Hydra's maximum rotation grace period (without a reuse count): 5 minutes. */
const MAX_GRACE_SECONDS = 300

const seconds = (d: string): number => Math.max(1, Math.round(parseDuration(d) / 1000))

export function issueSettings(config: TokenServerConfig): IssueSettings {
  const publicUrl = config.urls.self.public !== '' ? config.urls.self.public : config.urls.self.issuer
  const discovery = config.webfinger.oidc_discovery
  return {
    authCodeSeconds: seconds(config.ttl.auth_code),
    idTokenSeconds: seconds(config.ttl.id_token),
    refreshTokenSeconds: seconds(config.ttl.refresh_token),
    rotationGraceSeconds: Math.min(MAX_GRACE_SECONDS, Math.floor(parseDuration(config.oauth2.grant.refresh_token.rotation_grace_period) / 1000)),
    subjectTypes: subjectTypes(config),
    pairwiseSalt: config.oidc.subject_identifiers.pairwise.salt,
    // Hydra always lists `sub` and the three scopes it knows, then what the config adds.
    claimsSupported: unique(['sub', ...discovery.supported_claims]),
    scopesSupported: unique(['offline_access', 'offline', 'openid', ...discovery.supported_scope]),
    publicUrl,
    userinfoUrl: discovery.userinfo_url !== '' ? discovery.userinfo_url : appendPath(publicUrl, 'userinfo'),
  }
}

/**
 * Hydra's reading of `oidc.subject_identifiers.supported_types`: public unless only pairwise is
 * named; pairwise dropped when access tokens are JWTs by default (a JWT's `sub` would reveal the
 * real subject next to the ID token's pairwise one).
 */
function subjectTypes(config: TokenServerConfig): ('public' | 'pairwise')[] {
  const named = config.oidc.subject_identifiers.supported_types
  const pairwise = named.includes('pairwise') && config.strategies.access_token !== 'jwt'
  const isPublic = named.includes('public') || !pairwise
  return [...(isPublic ? ['public' as const] : []), ...(pairwise ? ['pairwise' as const] : [])]
}

/** `base` + `/` + `path`, whether or not base ends with a slash (Hydra's urlx.AppendPaths). */
export function appendPath(base: string, path: string): string {
  return new URL(path, base.endsWith('/') ? base : `${base}/`).href
}

function unique(xs: readonly string[]): string[] {
  return [...new Set(xs)]
}
