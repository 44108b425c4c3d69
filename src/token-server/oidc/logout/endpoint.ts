/**
 * `GET|POST /oauth2/sessions/logout` (Hydra's performOidcFrontOrBackChannelLogout): without a
 * `logout_verifier` a logout starts (request-logout.ts); with one it completes
 * (complete-logout.ts). Errors go to `urls.error` with `error` and `error_description` in the
 * query, as Hydra's forwardError sends them; the logout endpoint never redirects an error to a
 * relying party.
 */
import type { ErrorRenderer } from '../../http/errors.js'
import type { RouteContext, RouteHandler } from '../../http/router.js'
import { requestParams } from '../flow/authorize-endpoint.js'
import type { FlowDeps } from '../flow/deps.js'
import { nowSeconds } from '../flow/flow-records.js'
import { authorizeErrorRenderer } from '../flow/response-mode.js'
import { completeLogout } from './complete-logout.js'
import { requestLogout } from './request-logout.js'

export function logoutEndpoint(deps: FlowDeps): { handler: RouteHandler; renderError: ErrorRenderer } {
  const handler = async (http: RouteContext): Promise<void> => {
    const now = nowSeconds()
    // Hydra reads the verifier from the URL only, even on POST.
    const verifier = http.query.get('logout_verifier') ?? ''
    if (verifier !== '') return completeLogout(deps, http, verifier, now)
    return requestLogout(deps, http, await requestParams(http), now)
  }
  return { handler, renderError: authorizeErrorRenderer(deps.settings.errorUrl) }
}
