/**
 * The first visit to `/oauth2/sessions/logout` (Hydra's issueLogoutVerifier): RP-initiated
 * (OpenID Connect RP-Initiated Logout 1.0, with `id_token_hint`) or started by the user at the
 * server (the browser's session cookie). Either way the browser is sent to the logout app with a
 * `logout_challenge` naming a stored `logout_request`; with no session to end it goes straight
 * to the post-logout URI, as Hydra does.
 */
import type { RouteContext } from '../../http/router.js'
import { authenticationSessionOf } from '../flow/login.js'
import type { FlowDeps } from '../flow/deps.js'
import { fositeError } from '../flow/errors.js'
import { newId, payloadOf, type LoginSessionPayload, type LogoutFlow } from '../flow/flow-records.js'
import { verifyIdTokenHint } from '../flow/id-token-hint.js'
import { redirect } from '../flow/response-mode.js'
import type { ClientRecord } from '../../store/types.js'

const invalid = (hint: string) => fositeError('invalid_request', hint)

export async function requestLogout(deps: FlowDeps, http: RouteContext, params: URLSearchParams, now: number): Promise<void> {
  const hint = params.get('id_token_hint') ?? ''
  const state = params.get('state') ?? ''
  const requested = params.get('post_logout_redirect_uri') ?? ''
  // Hydra keeps the URL as the browser sent it (path and query), not the form of a POST.
  const requestUrl = http.req.url ?? ''
  if (hint === '') {
    if (state !== '') throw invalid('Logout failed because query parameter state is set but id_token_hint is missing.')
    if (requested !== '') throw invalid('Logout failed because query parameter post_logout_redirect_uri is set but id_token_hint is missing.')
    const active = await authenticationSessionOf(deps, http.req, now)
    if (active === undefined) {
      // Nobody to log out and no relying party to tell.
      deps.ctx.logger.info('User logout skipped because no authentication session exists.')
      redirect(http.res, 302, deps.settings.postLogoutRedirectUrl)
      return
    }
    await challenge(deps, http, now, {
      subject: active.session.subject,
      sid: active.sid,
      request_url: requestUrl,
      rp_initiated: false,
      client_id: '',
      post_logout_redirect_uri: deps.settings.postLogoutRedirectUrl,
      requested_at: now,
    })
    return
  }

  const claims = await hintClaims(deps, hint, now)
  const client = await hintedClient(deps, claims, params.get('client_id') ?? '')
  let to = deps.settings.postLogoutRedirectUrl
  if (requested !== '') {
    const registered = client.data.post_logout_redirect_uris
    if (!Array.isArray(registered) || !registered.includes(requested)) {
      throw invalid('Logout failed because query parameter post_logout_redirect_uri is not a whitelisted as a post_logout_redirect_uri for the client.')
    }
    const u = new URL(requested)
    if (state !== '') u.searchParams.set('state', state)
    to = u.href
  }
  // Whether the hinted session still exists is what matters, not this browser's cookie.
  const sid = claims.sid as string
  const record = await deps.ctx.store.oidc.find('login_session', sid, now)
  const session = record === undefined ? undefined : payloadOf<LoginSessionPayload>(record)
  if (session === undefined || !session.remember) {
    // Already ended (or never remembered): nothing to do but go back.
    redirect(http.res, 302, to)
    return
  }
  await challenge(deps, http, now, {
    subject: session.subject,
    sid,
    request_url: requestUrl,
    rp_initiated: true,
    client_id: client.client_id,
    post_logout_redirect_uri: to,
    requested_at: now,
  })
}

/** Stores the logout request and sends the browser to the logout app. */
async function challenge(deps: FlowDeps, http: RouteContext, now: number, flow: LogoutFlow): Promise<void> {
  const id = newId()
  await deps.ctx.store.oidc.upsert({
    model: 'logout_request',
    id,
    payload: { ...flow },
    expires_at: now + deps.settings.requestTtl,
    subject: flow.subject,
    sid: flow.sid,
    ...(flow.client_id === '' ? {} : { client_id: flow.client_id }),
  })
  const to = new URL(deps.settings.logoutUrl)
  to.searchParams.set('logout_challenge', id)
  redirect(http.res, 302, to.href)
}

/** The hint's claims, checked as Hydra checks them (an expired hint is fine: it names a past login). */
async function hintClaims(deps: FlowDeps, hint: string, now: number): Promise<Record<string, unknown>> {
  const claims = await verifyIdTokenHint(deps.ctx.keys, hint, (why) => invalid(`Logout failed because query parameter id_token_hint is not valid: ${why}.`))
  const iat = typeof claims.iat === 'number' ? claims.iat : undefined
  const nbf = typeof claims.nbf === 'number' ? claims.nbf : undefined
  // The JWT library's own checks come first in Hydra, with its words.
  if (iat !== undefined && iat > now) throw invalid('Token used before issued')
  if (nbf !== undefined && nbf > now) throw invalid('Token is not valid yet')
  const iss = typeof claims.iss === 'string' ? claims.iss : ''
  if (iss !== deps.ctx.issuer) {
    throw invalid(`Logout failed because issuer claim value '${iss}' from query parameter id_token_hint does not match with issuer value from configuration '${deps.ctx.issuer}'.`)
  }
  if (iat === undefined) throw invalid(`Logout failed because iat claim value '0' from query parameter id_token_hint is before now ('${now}').`)
  if (typeof claims.sid !== 'string' || claims.sid === '') throw invalid('Logout failed because query parameter id_token_hint is missing sid claim.')
  if (typeof claims.sub !== 'string' || claims.sub === '') throw invalid('Logout failed because query parameter id_token_hint is missing sub claim.')
  return claims
}

/**
 * The relying party: the first audience of the hint that is a registered client (Hydra). When
 * the request also names a `client_id`, RP-Initiated Logout §2 requires it to be one of those
 * audiences; Hydra ignores the parameter, which would let it pick no client at all.
 */
async function hintedClient(deps: FlowDeps, claims: Record<string, unknown>, clientId: string): Promise<ClientRecord> {
  const aud = Array.isArray(claims.aud) ? claims.aud.filter((a): a is string => typeof a === 'string') : typeof claims.aud === 'string' ? [claims.aud] : []
  if (clientId !== '' && !aud.includes(clientId)) {
    throw invalid('Logout failed because query parameter client_id does not match the audience of query parameter id_token_hint.')
  }
  for (const id of clientId !== '' ? [clientId] : aud) {
    const client = await deps.ctx.store.getClient(id)
    if (client !== undefined) return client
  }
  throw invalid('Logout failed because none of the listed audiences is a registered OAuth 2.0 Client.')
}
