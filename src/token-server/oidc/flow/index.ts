/**
 * The browser flow's routes: the authorization endpoint on the public API, the login/consent/
 * logout request and session endpoints on the admin API. server.ts spreads them into its route lists.
 */
import type { TokenServerConfig } from '../../config.js'
import type { TokenServerContext } from '../../context.js'
import type { Route } from '../../http/router.js'
import type { AuthorizationIssuer } from '../authorization.js'
import { adminLogoutRoutes } from './admin-logout.js'
import { adminRequestRoutes } from './admin-requests.js'
import { authorizeEndpoint } from './authorize-endpoint.js'
import { fallbackRoutes } from './fallbacks.js'
import type { FlowDeps } from './deps.js'
import { sessionRoutes } from './sessions.js'
import { flowSettings } from './settings.js'

export interface FlowRoutes {
  readonly publicRoutes: Route[]
  readonly adminRoutes: Route[]
}

/**
 * @param issuer what turns a granted authorization into codes and tokens; without one, a flow
 *   that reaches the end answers server_error (and says why in the log).
 */
export function flowRoutes(ctx: TokenServerContext, config: TokenServerConfig, issuer: AuthorizationIssuer | undefined): FlowRoutes {
  const deps: FlowDeps = { ctx, settings: flowSettings(config), issuer }
  const authorize = authorizeEndpoint(deps)
  return {
    publicRoutes: [
      { method: 'GET', path: '/oauth2/auth', ...authorize },
      { method: 'POST', path: '/oauth2/auth', ...authorize },
      ...fallbackRoutes(deps),
    ],
    adminRoutes: [...adminRequestRoutes(deps), ...adminLogoutRoutes(deps), ...sessionRoutes(deps)],
  }
}
