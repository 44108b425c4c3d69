import type { TokenServerContext } from '../../context.js'
import type { RouteContext } from '../../http/router.js'
import type { AuthorizationIssuer } from '../authorization.js'
import type { BackChannelLogout } from '../logout/back-channel.js'
import type { ValidatedAuthorization } from './authorize-request.js'
import type { FlowSettings } from './settings.js'

/** What the browser flow's steps share: built once by flowRoutes. */
export interface FlowDeps {
  readonly ctx: TokenServerContext
  readonly settings: FlowSettings
  /** Turns a granted authorization into codes and tokens; undefined until issuance is wired. */
  readonly issuer: AuthorizationIssuer | undefined
  /** Back-channel logout deliveries of this server (awaited at shutdown). */
  readonly backChannel: BackChannelLogout
}

/** One authorization request in progress: the HTTP exchange and what validation made of it. */
export interface FlowStep {
  readonly http: RouteContext
  readonly auth: ValidatedAuthorization
  /** Seconds since the epoch, once per request. */
  readonly now: number
}
