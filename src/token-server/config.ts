/**
 * The token server's configuration, in ORY Hydra 2.x's key layout (`dsn`, `secrets.system`,
 * `urls.self.issuer`, `strategies.*`, `ttl.*`, `oauth2.hashers.*`), so a Hydra config file
 * works with at most the keys Gatehouse does not implement removed. Loaded by the same pipeline
 * as the gateway's (config/load.ts): files layered, env overrides by key path (`DSN`,
 * `SECRETS_SYSTEM=a,b`, `SERVE_PUBLIC_PORT`), every problem reported at once, result frozen.
 */
import type { ConfigSpec } from '../config/load.js'
import { duration, LOG_LEVELS, nonEmptyString, object, port, type SchemaNode } from '../config/schema.js'
import { readTlsMaterial, tlsEnabled, tlsSchema, type TlsConfig } from '../config/tls.js'
import { ConfigError } from '../errors.js'
import { deepFreeze } from '../util/deep-merge.js'
import { cookiesSchema, oidcSchema, webfingerSchema, type CookieSettings, type OidcSettings, type WebfingerSettings } from './config-oidc.js'

export type { CookieSettings, OidcSettings, WebfingerSettings } from './config-oidc.js'

export interface TokenServerConfig {
  readonly serve: {
    readonly public: { readonly host: string; readonly port: number; readonly tls: TlsConfig }
    readonly admin: {
      readonly host: string
      readonly port: number
      /** `enabled: false` keeps the admin API on plain HTTP even when `serve.tls` is set (Hydra's). */
      readonly tls: TlsConfig & { readonly enabled?: boolean }
      /** Beyond Hydra: bearer API keys the admin API requires (none: open, as Hydra's). */
      readonly auth: { readonly api_keys: readonly string[] }
    }
    /** TLS for both APIs; `serve.public.tls` / `serve.admin.tls` override it key by key. */
    readonly tls: TlsConfig
    /** On SIGTERM: how long in-flight requests may take before connections are cut. */
    readonly shutdown_grace: string
    /** On SIGTERM: how long the listeners keep accepting, `/health/ready` answering 503, before they stop. */
    readonly shutdown_delay: string
    /** The browser flow's cookies (login/consent CSRF, authentication session), as Hydra names them. */
    readonly cookies: CookieSettings
  }
  /**
   * Hydra's development mode (`--dev`, `DEV=true`): cookies without `Secure` unless
   * `serve.cookies.secure`, cookie names with `_dev` appended, SameSite Lax by default.
   */
  readonly dev: boolean
  /** `memory`, `sqlite://path` (or `sqlite::memory:`), `postgres://…` (Hydra's DSN forms). */
  readonly dsn: string
  readonly secrets: {
    /** The first signs opaque tokens; the others still verify (rotation). Each ≥ 16 characters. */
    readonly system: readonly string[]
    /**
     * Sign the browser flow's authentication session cookie (Hydra's cookie store secrets): the
     * first signs, all verify. Empty: secrets.system, as Hydra falls back.
     */
    readonly cookie: readonly string[]
  }
  readonly urls: {
    readonly self: {
      readonly issuer: string
      /** The admin API's public URL; when set, discovery lists the introspection endpoint. */
      readonly admin: string
      /** The public API's URL, where it differs from the issuer ('' = the issuer; Hydra's fallback). */
      readonly public: string
    }
    /** The login app (`?login_challenge=`); '' = Hydra's fallback, `<public URL>/oauth2/fallbacks/login`. */
    readonly login: string
    /** The consent app (`?consent_challenge=`); '' = `<public URL>/oauth2/fallbacks/consent`. */
    readonly consent: string
    /** The logout app (`?logout_challenge=`); '' = `<issuer>/oauth2/fallbacks/logout`. */
    readonly logout: string
    /** Where errors go when the client's redirect URI cannot be trusted; '' = `<public URL>/oauth2/fallbacks/error`. */
    readonly error: string
    /** Where a logout without a registered post_logout_redirect_uri ends; '' = `<issuer>/oauth2/fallbacks/logout/callback`. */
    readonly post_logout_redirect: string
  }
  readonly strategies: {
    readonly access_token: 'opaque' | 'jwt'
    readonly scope: 'exact' | 'wildcard'
  }
  readonly ttl: {
    readonly access_token: string
    /** How long a login and consent flow may take (challenges, verifiers, CSRF cookies). */
    readonly login_consent_request: string
    /** How long a remembered authentication session lasts at most (Hydra caps it at 180 days). */
    readonly authentication_session: string
    /** Refresh tokens (Hydra: 720h). */
    readonly refresh_token: string
    /** ID tokens (Hydra: 1h). */
    readonly id_token: string
    /** Authorization codes (Hydra: 10m). */
    readonly auth_code: string
  }
  readonly oidc: OidcSettings
  readonly webfinger: WebfingerSettings
  readonly oauth2: {
    readonly hashers: {
      readonly algorithm: 'pbkdf2' | 'bcrypt'
      readonly pbkdf2: { readonly iterations: number }
      readonly bcrypt: { readonly cost: number }
    }
    /** Beyond Hydra: the opaque access token prefix (Hydra's is fixed to `ory_at_`). */
    readonly access_token_prefix: string
    /** Beyond Hydra: the JWT strategy's signing algorithm. */
    readonly jwt_algorithm: 'RS256' | 'ES256'
    /**
     * Beyond Hydra: failed client authentications allowed per client id and per source address
     * within `window`; over that, unverified attempts get 429 with Retry-After.
     */
    readonly client_auth_limits: { readonly per_client: number; readonly per_address: number; readonly window: string }
    /** PKCE (RFC 7636) for the authorization code flow: required of every client, or of public ones. */
    readonly pkce: { readonly enforced: boolean; readonly enforced_for_public_clients: boolean }
    readonly grant: {
      readonly refresh_token: {
        /**
         * How long a rotated refresh token may still be used (each use issues a new pair), as
         * Hydra's; 0s is strict rotation. Longer is taken as 5m, Hydra's maximum.
         */
        readonly rotation_grace_period: string
      }
    }
  }
  /** Beyond Hydra: expired tokens are deleted in the background, in small batches. */
  readonly janitor: { readonly interval: string; readonly batch_size: number }
  readonly log: { readonly level: (typeof LOG_LEVELS)[number]; readonly format: 'json' | 'text' }
}

const listener = object({ host: { type: 'string' }, port, tls: tlsSchema() })

export const tokenServerSchema: SchemaNode = object({
  serve: object({
    public: listener,
    admin: object({
      host: { type: 'string' },
      port,
      auth: object({ api_keys: { type: 'array', items: { type: 'string', minLength: 16 } } }),
      tls: tlsSchema({ enabled: { type: 'boolean' } }),
    }),
    tls: tlsSchema(),
    shutdown_grace: duration,
    shutdown_delay: duration,
    cookies: cookiesSchema,
  }),
  dev: { type: 'boolean' },
  dsn: nonEmptyString,
  secrets: object({ system: { type: 'array', items: { type: 'string', minLength: 16 } }, cookie: { type: 'array', items: { type: 'string', minLength: 16 } } }),
  urls: object({
    self: object({ issuer: nonEmptyString, admin: { type: 'string' }, public: { type: 'string' } }),
    login: { type: 'string' },
    consent: { type: 'string' },
    logout: { type: 'string' },
    error: { type: 'string' },
    post_logout_redirect: { type: 'string' },
  }),
  strategies: object({
    access_token: { type: 'string', enum: ['opaque', 'jwt'] },
    scope: { type: 'string', enum: ['exact', 'wildcard'] },
  }),
  ttl: object({
    access_token: duration,
    refresh_token: duration,
    id_token: duration,
    auth_code: duration,
    login_consent_request: duration,
    authentication_session: duration,
  }),
  oidc: oidcSchema,
  webfinger: webfingerSchema,
  oauth2: object({
    hashers: object({
      algorithm: { type: 'string', enum: ['pbkdf2', 'bcrypt'] },
      pbkdf2: object({ iterations: { type: 'integer', minimum: 1000, maximum: 10_000_000 } }),
      bcrypt: object({ cost: { type: 'integer', minimum: 4, maximum: 31 } }),
    }),
    access_token_prefix: { type: 'string', maxLength: 32, pattern: '^[A-Za-z0-9_-]*$' },
    jwt_algorithm: { type: 'string', enum: ['RS256', 'ES256'] },
    client_auth_limits: object({
      per_client: { type: 'integer', minimum: 1 },
      per_address: { type: 'integer', minimum: 1 },
      window: duration,
    }),
    pkce: object({ enforced: { type: 'boolean' }, enforced_for_public_clients: { type: 'boolean' } }),
    grant: object({ refresh_token: object({ rotation_grace_period: duration }) }),
  }),
  janitor: object({ interval: duration, batch_size: { type: 'integer', minimum: 1, maximum: 100_000 } }),
  log: object({
    level: { type: 'string', enum: LOG_LEVELS },
    format: { type: 'string', enum: ['json', 'text'] },
  }),
})

/** Hydra's defaults where it has them. */
export const TOKEN_SERVER_DEFAULTS: TokenServerConfig = deepFreeze({
  serve: {
    public: { host: '', port: 4444, tls: {} },
    admin: { host: '', port: 4445, auth: { api_keys: [] }, tls: {} },
    tls: {},
    shutdown_grace: '10s',
    // As the gateway's (and Hydra, which has no delay): see config/defaults.ts.
    shutdown_delay: '0s',
    cookies: {
      same_site_mode: 'None',
      domain: '',
      secure: false,
      names: { login_csrf: 'ory_hydra_login_csrf', consent_csrf: 'ory_hydra_consent_csrf', session: 'ory_hydra_session' },
      paths: { session: '/' },
    },
  },
  dev: false,
  dsn: 'memory',
  secrets: { system: [], cookie: [] },
  urls: {
    self: { issuer: 'http://127.0.0.1:4444/', admin: '', public: '' },
    login: '',
    consent: '',
    logout: '',
    error: '',
    post_logout_redirect: '',
  },
  strategies: { access_token: 'opaque', scope: 'wildcard' },
  ttl: { access_token: '1h', refresh_token: '720h', id_token: '1h', auth_code: '10m', login_consent_request: '30m', authentication_session: '720h' },
  oidc: { subject_identifiers: { supported_types: ['public'], pairwise: { salt: '' } } },
  webfinger: { oidc_discovery: { supported_claims: [], supported_scope: [], userinfo_url: '' } },
  oauth2: {
    hashers: { algorithm: 'pbkdf2', pbkdf2: { iterations: 25_000 }, bcrypt: { cost: 10 } },
    access_token_prefix: 'ory_at_',
    jwt_algorithm: 'RS256',
    client_auth_limits: { per_client: 10, per_address: 100, window: '1m' },
    pkce: { enforced: false, enforced_for_public_clients: false },
    grant: { refresh_token: { rotation_grace_period: '0s' } },
  },
  janitor: { interval: '1m', batch_size: 500 },
  log: { level: 'info', format: 'json' },
} satisfies TokenServerConfig)

/** Hydra keys that are about flows Gatehouse does not serve (login/consent, OIDC, …). */
const UNSUPPORTED_HYDRA_KEYS: ReadonlySet<string> = new Set([
  'serve.cookies.same_site_legacy_workaround',
  'version',
  'serve.tls.allow_termination_from',
  'serve.public.cors',
  'serve.admin.cors',
  'serve.public.tls.allow_termination_from',
  'serve.admin.tls.allow_termination_from',
  'oidc.dynamic_client_registration',
  'webfinger.jwks',
  'webfinger.oidc_discovery.client_registration_url',
  'webfinger.oidc_discovery.token_url',
  'webfinger.oidc_discovery.auth_url',
  'webfinger.oidc_discovery.jwks_url',
  'webfinger.oidc_discovery.device_authorization_url',
  'webfinger.oidc_discovery.verifiable_credentials_url',
  'oauth2.grant.refresh_token.rotation_grace_reuse_count',
  'tracing',
])

export const TOKEN_SERVER_CONFIG: ConfigSpec<TokenServerConfig> = {
  schema: tokenServerSchema,
  defaults: TOKEN_SERVER_DEFAULTS,
  unsupported: UNSUPPORTED_HYDRA_KEYS,
  unsupportedMessage: 'Hydra key not supported by the Gatehouse token server; remove it',
}

/**
 * Checks that need more than the schema: run at start-up, after loading, so `serve` can refuse
 * with every reason at once. Returns the problems (empty when fine).
 */
export function startupProblems(config: TokenServerConfig, opts: { dev: boolean }): string[] {
  const problems: string[] = []
  if (config.secrets.system.length === 0) {
    problems.push(
      'secrets.system: no system secret is set; set one of at least 16 characters in the config file ' +
        'or with SECRETS_SYSTEM=<secret> (it signs opaque tokens; keep it stable across restarts)',
    )
  }
  let issuer: URL | undefined
  try {
    issuer = new URL(config.urls.self.issuer)
  } catch {
    problems.push(`urls.self.issuer: not a URL (got ${JSON.stringify(config.urls.self.issuer)})`)
  }
  if (issuer !== undefined && issuer.protocol !== 'https:' && !opts.dev) {
    problems.push(`urls.self.issuer: must be https:// outside development; run with --dev to allow ${issuer.href}`)
  }
  for (const key of ['login', 'consent', 'logout', 'error', 'post_logout_redirect'] as const) {
    const v = config.urls[key]
    if (v !== '' && !URL.canParse(v)) problems.push(`urls.${key}: not an absolute URL (got ${JSON.stringify(v)})`)
  }
  const subjects = config.oidc.subject_identifiers
  if (subjects.supported_types.includes('pairwise') && subjects.pairwise.salt.length < 8) {
    problems.push('oidc.subject_identifiers.pairwise.salt: pairwise subject identifiers need a salt of at least 8 characters, as in Hydra')
  }
  for (const api of ['public', 'admin'] as const) {
    const tls = listenerTls(config, api)
    if (tls === undefined) continue
    try {
      readTlsMaterial(tls.config, tls.where)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      // serve.tls shared by both APIs: its problems once, not twice.
      for (const p of err.problems) if (!problems.includes(p)) problems.push(p)
    }
  }
  return problems
}

/**
 * The TLS settings in force for one API, as Hydra resolves them: `serve.<api>.tls.cert` and
 * `.key` each override `serve.tls`'s; `serve.admin.tls.enabled: false` means plain HTTP.
 * Undefined: plain HTTP. `where` names the block problems are reported under.
 */
export function listenerTls(config: TokenServerConfig, api: 'public' | 'admin'): { config: TlsConfig; where: string } | undefined {
  const own = config.serve[api].tls
  if (api === 'admin' && config.serve.admin.tls.enabled === false) return undefined
  if (tlsEnabled(own)) {
    const merged: TlsConfig = { cert: own.cert ?? config.serve.tls.cert, key: own.key ?? config.serve.tls.key }
    return { config: merged, where: `serve.${api}.tls` }
  }
  return tlsEnabled(config.serve.tls) ? { config: config.serve.tls, where: 'serve.tls' } : undefined
}
