/**
 * The browser flow's routes: the authorization and logout endpoints on the public API, the
 * login/consent/logout request and session endpoints on the admin API. server.ts spreads them into its route lists.
 */
import type { TokenServerConfig } from '../../config.js'
import type { TokenServerContext } from '../../context.js'
import type { Route } from '../../http/router.js'
import type { AuthorizationIssuer } from '../authorization.js'
import { adminLogoutRoutes } from './admin-logout.js'
import { adminRequestRoutes } from './admin-requests.js'
import { authorizeEndpoint } from './authorize-endpoint.js'
import type { FlowDeps } from './deps.js'
import { BackChannelLogout } from '../logout/back-channel.js'
import { logoutEndpoint } from '../logout/endpoint.js'
import { fallbackRoutes } from './fallbacks.js'
import { sessionRoutes } from './sessions.js'
import { flowSettings } from './settings.js'

export interface FlowRoutes {
  readonly publicRoutes: Route[]
  readonly adminRoutes: Route[]
  /** Waits for back-channel logout deliveries in flight, at most `graceMs` (server shutdown). */
  settle(graceMs: number): Promise<void>
}

/**
 * @param issuer what turns a granted authorization into codes and tokens; without one, a flow
 *   that reaches the end answers server_error (and says why in the log).
 */
export function flowRoutes(ctx: TokenServerContext, config: TokenServerConfig, issuer: AuthorizationIssuer | undefined): FlowRoutes {
  const backChannel = new BackChannelLogout({ keys: ctx.keys, logger: ctx.logger, issuer: ctx.issuer })
  const deps: FlowDeps = { ctx, settings: flowSettings(config), issuer, backChannel }
  const authorize = authorizeEndpoint(deps)
  const logout = logoutEndpoint(deps)
  return {
    publicRoutes: [
      { method: 'GET', path: '/oauth2/auth', ...authorize },
      { method: 'POST', path: '/oauth2/auth', ...authorize },
      { method: 'GET', path: '/oauth2/sessions/logout', ...logout },
      { method: 'POST', path: '/oauth2/sessions/logout', ...logout },
      ...fallbackRoutes(ctx.logger),
    ],
    adminRoutes: [...adminRequestRoutes(deps), ...adminLogoutRoutes(deps), ...sessionRoutes(deps)],
    settle: (graceMs) => backChannel.settle(graceMs),
  }
}
