/**
 * The built-in login app's configuration. The app is an ordinary client of the token server's
 * admin API (Hydra's login/consent/logout protocol), so its settings are the ones any such app
 * has: where it listens, where the admin API is (and the API key, when the admin API requires one),
 * where its users are. Loaded by the shared pipeline (config/load.ts): files layered, environment
 * overrides by key path (`ADMIN_API_KEY`, `SERVE_PORT`), every problem reported at once.
 */
import type { ConfigSpec } from '../config/load.js'
import { duration, LOG_LEVELS, nonEmptyString, object, port, type SchemaNode } from '../config/schema.js'
import { deepFreeze } from '../util/deep-merge.js'

export interface LoginAppConfig {
  readonly serve: { readonly host: string; readonly port: number }
  readonly urls: {
    /** The token server's admin API (Hydra's `/admin/oauth2/auth/requests/…` live under it). */
    readonly admin: string
    /** The token server's public URL (its issuer); used only by the demo client pages. */
    readonly public: string
    /** This app's own URL as browsers reach it; the demo client's redirect URI is `<self>callback`. */
    readonly self: string
  }
  /** One of the token server's `serve.admin.auth.api_keys`; empty when its admin API is open. */
  readonly admin: { readonly api_key: string }
  /** YAML file of users: user name, password hash, subject, claims (see config/users.yml). */
  readonly users_file: string
  /** How long a "remember me" login, and a remembered consent, lasts (Hydra's `remember_for`). */
  readonly remember_for: string
  /**
   * The demo client whose sign-in button the app's home page shows (a public client with PKCE);
   * empty: no demo pages, `/callback` only shows what it received.
   */
  readonly demo: { readonly client_id: string; readonly scope: string }
  readonly log: { readonly level: (typeof LOG_LEVELS)[number]; readonly format: 'json' | 'text' }
}

const url: SchemaNode = { type: 'string', pattern: '^https?://' }

export const loginAppSchema: SchemaNode = object({
  serve: object({ host: { type: 'string' }, port }),
  urls: object({ admin: url, public: { type: 'string', pattern: '^(https?://.*)?$' }, self: url }),
  admin: object({ api_key: { type: 'string' } }),
  users_file: nonEmptyString,
  remember_for: duration,
  demo: object({ client_id: { type: 'string' }, scope: { type: 'string' } }),
  log: object({
    level: { type: 'string', enum: LOG_LEVELS },
    format: { type: 'string', enum: ['json', 'text'] },
  }),
})

/** Port 3000 is where Hydra's documentation runs its example login app. */
export const LOGIN_APP_DEFAULTS: LoginAppConfig = deepFreeze({
  serve: { host: '127.0.0.1', port: 3000 },
  urls: { admin: 'http://127.0.0.1:4445/', public: 'http://127.0.0.1:4444/', self: 'http://127.0.0.1:3000/' },
  admin: { api_key: '' },
  users_file: 'config/users.yml',
  remember_for: '1h',
  demo: { client_id: '', scope: 'openid offline_access profile email' },
  log: { level: 'info', format: 'json' },
} satisfies LoginAppConfig)

export const LOGIN_APP_CONFIG: ConfigSpec<LoginAppConfig> = {
  schema: loginAppSchema,
  defaults: LOGIN_APP_DEFAULTS,
}

/** `base` with exactly one trailing slash, so `join(base, 'admin/…')` never doubles or drops one. */
export function withSlash(base: string): string {
  return base.endsWith('/') ? base : `${base}/`
}
