import type { Logger } from '../observability/logger.js'
import type { AdminApi } from './admin-api.js'
import type { LoginAppConfig } from './config.js'
import type { Csrf } from './csrf.js'
import type { Users } from './users.js'

/** What the page handlers share; made once by createLoginApp. */
export interface AppContext {
  readonly config: LoginAppConfig
  readonly admin: AdminApi
  readonly users: Users
  readonly csrf: Csrf
  /** `remember_for` in seconds, as Hydra's admin API takes it. */
  readonly rememberFor: number
  readonly logger: Logger
}

/** What the app sends to `…/reject` when the user says no: fosite's ErrAccessDenied, word for word. */
export const ACCESS_DENIED = {
  error: 'access_denied',
  error_description: 'The resource owner or authorization server denied the request.',
} as const
