/**
 * The browser is back at `/oauth2/sessions/logout` with a `logout_verifier` (Hydra's
 * completeLogout): the authentication session ends (record and cookie), every client of the
 * session that registered a back-channel URI gets a logout token, and the browser is sent on to
 * the post-logout URI, through a page of front-channel iframes when clients registered those.
 */
import { OAuthError } from '../../oauth-error.js'
import type { RouteContext } from '../../http/router.js'
import { clearSessionCookie, readSessionId } from '../flow/cookies.js'
import type { FlowDeps } from '../flow/deps.js'
import { payloadOf, type LogoutFlow, type VerifierPayload } from '../flow/flow-records.js'
import { authenticationSessionOf } from '../flow/login.js'
import { redirect } from '../flow/response-mode.js'
import { frontChannelUrls, sendFrontChannelPage } from './front-channel.js'
import { logoutClients } from './session-clients.js'

/** Hydra's x.ErrNotFound with a hint, as its error page shows it. */
const unknownVerifier = (): OAuthError => new OAuthError(404, 'Not Found', 'Unable to locate the requested resource The logout verifier is unknown or has expired.')
/** Hydra's flow.ErrorLogoutFlowExpired. */
const expired = (): OAuthError => new OAuthError(401, 'request_unauthorized', 'The request could not be authorized. The logout request has expired, please try the flow again.')

export async function completeLogout(deps: FlowDeps, http: RouteContext, verifier: string, now: number): Promise<void> {
  const records = deps.ctx.store.oidc
  const v = await records.find('verifier', verifier, now)
  if (v === undefined || payloadOf<VerifierPayload>(v).kind !== 'logout') throw unknownVerifier()
  const record = await records.find('logout_request', payloadOf<VerifierPayload>(v).challenge, now)
  if (record === undefined) throw expired()
  const lr = payloadOf<LogoutFlow>(record)
  const leave = (): void => redirect(http.res, 302, lr.post_logout_redirect_uri)

  if (!lr.rp_initiated) {
    // Started from this browser's cookie: end that session only if the browser still holds it. A
    // verifier replayed or carried to another browser (another user, or a new login) changes nothing.
    const active = await authenticationSessionOf(deps, http.req, now)
    if (active === undefined || active.session.subject !== lr.subject || active.sid !== lr.sid) return leave()
  }
  // Single use: a second visit with the verifier (a double submit) only goes on to the post-logout URI.
  if ((await records.consume('verifier', verifier, now)).status !== 'first') return leave()

  // Read before the session goes: the clients are found through it.
  const clients = await logoutClients(deps, lr.subject, lr.sid, now)
  // Deleting the session gates the rest, as in Hydra: of concurrent logouts of one session (this
  // endpoint, the admin API) only the one that deleted it notifies the clients.
  if (!(await records.destroy('login_session', lr.sid))) return leave()

  // Whatever session this browser's cookie names ends too, as Hydra's revokeAuthenticationSession.
  // Only a signed cookie names a session (a bare sid could be anyone's, learnt from an ID token).
  const cookieSid = readSessionId(http.req, deps.settings.cookies)
  if (cookieSid !== undefined && cookieSid !== lr.sid) {
    await records.destroy('login_session', cookieSid).catch((err: unknown) => {
      deps.ctx.logger.warn({ err: (err as Error).message }, 'could not delete the session of the logout cookie')
    })
  }
  clearSessionCookie(http.res, deps.settings.cookies)

  await deps.backChannel.notify(clients.back, lr.sid)
  const urls = frontChannelUrls(clients.front, deps.ctx.issuer, lr.sid)
  deps.ctx.logger.info({ subject: lr.subject, sid: lr.sid }, 'User logout completed')
  if (urls.length === 0) leave()
  else sendFrontChannelPage(http.res, urls, lr.post_logout_redirect_uri)
}
