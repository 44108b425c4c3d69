/**
 * The consent half of the flow (Hydra's requestConsent, forwardConsentRequest, verifyConsent),
 * and the end of it: the granted authorization handed to the issuer, the consent recorded per
 * grant (so it can be listed, reused when remembered, and revoked with its tokens), and the
 * issuer's parameters delivered to the client's redirect URI.
 */
import { allScopesGranted } from '../../../scope.js'
import { serverError } from '../../oauth-error.js'
import { newGrantId } from '../../tokens/grant-id.js'
import type { GrantedAuthorization } from '../authorization.js'
import { csrfCookieName, setCsrfCookie } from './cookies.js'
import type { FlowDeps, FlowStep } from './deps.js'
import { fositeError } from './errors.js'
import { flowRecordExpiry, newId, payloadOf, saveFlow, type ConsentFlow, type ConsentSessionPayload, type LoginFlow } from './flow-records.js'
import { deliver, redirect } from './response-mode.js'
import { denialError, takeVerifier } from './verify.js'

/**
 * Consent sessions are kept this long at least (a revocation must still find the grant of a
 * long-lived refresh token); a remembered consent, as long as it is remembered.
 */
const CONSENT_SESSION_SECONDS = 180 * 24 * 3600

/** The newest remembered, unexpired consent of this subject for this client, if any. */
export async function rememberedConsent(deps: FlowDeps, subject: string, clientId: string, now: number): Promise<ConsentSessionPayload | undefined> {
  const found = await deps.ctx.store.oidc.findBy('consent_session', { subject, client_id: clientId }, now)
  let best: ConsentSessionPayload | undefined
  for (const r of found) {
    const c = payloadOf<ConsentSessionPayload>(r)
    if (!c.remember || c.skip || (c.remembered_until !== null && c.remembered_until <= now)) continue
    if (best === undefined || c.handled_at >= best.handled_at) best = c
  }
  return best
}

/** After login: send the browser to the consent app (Hydra always asks it, with `skip` when it may). */
export async function requestConsent(deps: FlowDeps, step: FlowStep, loginChallenge: string, login: LoginFlow): Promise<void> {
  const { request, client } = step.auth
  const accepted = login.accepted!
  let canSkip = false
  // RFC 6749 §10.2: a public client's identity is only assured by an https (or localhost) redirect.
  const redirect_ = new URL(request.redirect_uri)
  const local = redirect_.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(redirect_.hostname)
  const publicUnproven = client.data.token_endpoint_auth_method === 'none' && !(redirect_.protocol === 'https:' || local)
  if (!request.prompt.includes('consent') && !publicUnproven) {
    const previous = await rememberedConsent(deps, accepted.subject, client.client_id, step.now)
    canSkip = previous !== undefined && allScopesGranted(deps.ctx.scopeStrategy, previous.grant_scope, request.scope)
  }
  if (request.prompt.includes('none') && !canSkip) throw fositeError('consent_required', "Prompt 'none' was requested, but no previous consent was found.")
  const challenge = newId()
  const flow: ConsentFlow = {
    request,
    login_challenge: loginChallenge,
    subject: accepted.subject,
    force_subject_identifier: accepted.force_subject_identifier,
    session_id: login.session_id,
    login_remembered: accepted.remember,
    acr: accepted.acr,
    amr: accepted.amr,
    context: accepted.context,
    auth_time: login.authenticated_at ?? step.now,
    ...(login.id_token_hint_claims === undefined ? {} : { id_token_hint_claims: login.id_token_hint_claims }),
    skip: canSkip,
    csrf: newId(),
  }
  await saveFlow(deps.ctx.store.oidc, 'consent_request', challenge, flow, flowRecordExpiry(request.requested_at, deps.settings.requestTtl))
  const { cookies, requestTtl, consentUrl } = deps.settings
  setCsrfCookie(step.http.res, cookies, csrfCookieName(cookies, 'consent', client.client_id), flow.csrf, requestTtl)
  const to = new URL(consentUrl)
  to.searchParams.set('consent_challenge', challenge)
  redirect(step.http.res, 302, to.href)
}

/** The browser is back with a `consent_verifier`: record the consent, issue, deliver. */
export async function completeConsent(deps: FlowDeps, step: FlowStep, verifier: string): Promise<void> {
  const { challenge, record } = await takeVerifier(deps, step, 'consent', verifier)
  const flow = payloadOf<ConsentFlow>(record)
  if (flow.denied !== undefined) throw denialError(flow.denied, 'consent request denied')
  const accepted = flow.accepted
  if (accepted === undefined) throw fositeError('access_denied', 'The consent verifier has already been used, has not been granted, or is invalid.')
  if (deps.issuer === undefined) {
    deps.ctx.logger.error('no authorization issuer is configured; the authorization endpoint cannot issue codes or tokens')
    throw serverError()
  }
  const grantId = newGrantId()
  const rememberedUntil = accepted.remember && accepted.remember_for > 0 ? accepted.handled_at + accepted.remember_for : null
  const session: ConsentSessionPayload = {
    consent: flow,
    grant_scope: accepted.grant_scope,
    grant_access_token_audience: accepted.grant_access_token_audience,
    remember: accepted.remember,
    remember_for: accepted.remember_for,
    handled_at: accepted.handled_at,
    session: accepted.session,
    remembered_until: rememberedUntil,
    skip: flow.skip,
  }
  await deps.ctx.store.oidc.upsert({
    model: 'consent_session',
    id: challenge,
    payload: session as unknown as Record<string, unknown>,
    expires_at: Math.max(step.now + CONSENT_SESSION_SECONDS, rememberedUntil ?? 0),
    grant_id: grantId,
    subject: flow.subject,
    client_id: flow.request.client_id,
    sid: flow.session_id,
  })
  const granted: GrantedAuthorization = {
    request: flow.request,
    grant_id: grantId,
    subject: flow.subject,
    force_subject_identifier: flow.force_subject_identifier === '' ? undefined : flow.force_subject_identifier,
    granted_scope: accepted.grant_scope,
    granted_audience: accepted.grant_access_token_audience,
    session: accepted.session,
    auth_time: flow.auth_time,
    acr: flow.acr,
    amr: flow.amr,
    sid: flow.session_id,
    consent_challenge: challenge,
  }
  const params = await deps.issuer.issue(granted)
  // The stored request decides where the answer goes, not the URL the verifier came back on.
  deliver(step.http.res, { redirect_uri: flow.request.redirect_uri, response_mode: flow.request.response_mode }, { ...params, state: flow.request.state ?? '' })
}
