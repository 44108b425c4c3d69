import { parseDuration } from '../../../config/duration.js'
import type { TokenServerConfig } from '../../config.js'
import { appendPath } from '../issue/settings.js'
import { sessionCookieKeys } from './cookies.js'

/** The cookie attributes in force, resolved once from `serve.cookies` and `dev` as Hydra resolves them. */
export interface CookiePolicy {
  readonly secure: boolean
  /** undefined: no SameSite attribute (Hydra's "default mode" outside development). */
  readonly sameSite: 'strict' | 'lax' | 'none' | undefined
  readonly domain: string | undefined
  readonly loginCsrf: string
  readonly consentCsrf: string
  readonly session: string
  readonly sessionPath: string
  /** HMAC keys of the session cookie (cookies.ts): the first signs, all verify. */
  readonly sessionKeys: readonly Buffer[]
}

/** What the browser flow needs from the config, prepared at start-up. */
export interface FlowSettings {
  /** `urls.self.issuer` without its trailing slash. */
  readonly issuer: string
  /** `<public URL>/oauth2/auth` (urls.self.public, else the issuer), the base of every `request_url`. */
  readonly authUrl: string
  readonly loginUrl: string
  readonly consentUrl: string
  readonly errorUrl: string
  /** `urls.logout`: the logout app, sent `?logout_challenge=`. */
  readonly logoutUrl: string
  /** `urls.post_logout_redirect`: where a logout ends without a registered post_logout_redirect_uri. */
  readonly postLogoutRedirectUrl: string
  /** `urls.self.public` (or the issuer) + `/oauth2/sessions/logout`: where a logout verifier is brought back. */
  readonly logoutEndpoint: string
  /** ttl.login_consent_request, in seconds. */
  readonly requestTtl: number
  /** ttl.authentication_session, in seconds (at most 180 days, as Hydra). */
  readonly sessionTtl: number
  /** Hydra's development mode: any redirect URI counts as secure (x.IsRedirectURISecure). */
  readonly dev: boolean
  readonly pkceEnforced: boolean
  readonly pkceEnforcedForPublic: boolean
  readonly cookies: CookiePolicy
}

const MAX_SESSION_SECONDS = 180 * 24 * 3600

export function flowSettings(config: TokenServerConfig): FlowSettings {
  const issuer = config.urls.self.issuer.replace(/\/+$/, '')
  // Hydra's PublicURL: where browsers reach the public API, which may differ from the issuer.
  const publicUrl = config.urls.self.public !== '' ? config.urls.self.public.replace(/\/+$/, '') : issuer
  const fallback = (configured: string, path: string): string => (configured !== '' ? configured : `${publicUrl}/oauth2/fallbacks/${path}`)
  const c = config.serve.cookies
  const httpsIssuer = issuer.startsWith('https:')
  // Hydra: None needs https (browsers drop SameSite=None without Secure), Lax then; an unset
  // mode is Lax in development and the browser's default otherwise. The schema always has a mode.
  const mode = c.same_site_mode.toLowerCase() as 'strict' | 'lax' | 'none'
  const sameSite = mode === 'none' && !httpsIssuer ? 'lax' : mode
  // Hydra appends `_dev` to every cookie name in development mode.
  const suffix = config.dev ? '_dev' : ''
  return {
    issuer,
    authUrl: `${publicUrl}/oauth2/auth`,
    loginUrl: fallback(config.urls.login, 'login'),
    consentUrl: fallback(config.urls.consent, 'consent'),
    errorUrl: fallback(config.urls.error, 'error'),
    logoutUrl: fallback(config.urls.logout, 'logout'),
    postLogoutRedirectUrl: fallback(config.urls.post_logout_redirect, 'logout/callback'),
    logoutEndpoint: appendPath(config.urls.self.public !== '' ? config.urls.self.public : config.urls.self.issuer, 'oauth2/sessions/logout'),
    requestTtl: Math.max(1, Math.round(parseDuration(config.ttl.login_consent_request) / 1000)),
    sessionTtl: Math.min(MAX_SESSION_SECONDS, Math.max(1, Math.round(parseDuration(config.ttl.authentication_session) / 1000))),
    dev: config.dev,
    pkceEnforced: config.oauth2.pkce.enforced,
    pkceEnforcedForPublic: config.oauth2.pkce.enforced_for_public_clients,
    cookies: {
      // Always Secure outside development mode, as Hydra.
      secure: config.dev ? c.secure : true,
      sameSite,
      domain: c.domain === '' ? undefined : c.domain,
      loginCsrf: c.names.login_csrf + suffix,
      consentCsrf: c.names.consent_csrf + suffix,
      session: c.names.session + suffix,
      sessionPath: c.paths.session,
      // Hydra's GetCookieSecrets: secrets.cookie, else the system secret.
      sessionKeys: sessionCookieKeys(config.secrets.cookie.length > 0 ? config.secrets.cookie : config.secrets.system),
    },
  }
}
