/**
 * The login half of the flow (Hydra's consent/strategy_default.go): sending the browser to the
 * login app with a fresh `login_challenge` (or refusing with login_required for `prompt=none`),
 * and, when the browser comes back with a `login_verifier`, checking that it is the same browser
 * (CSRF cookie), using the verifier once, and creating or forgetting the authentication session.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { clearSessionCookie, csrfCookieName, readSessionId, setCsrfCookie, setSessionCookie } from './cookies.js'
import type { FlowDeps, FlowStep } from './deps.js'
import { fositeError } from './errors.js'
import { flowRecordExpiry, newId, payloadOf, saveFlow, type LoginFlow, type LoginSessionPayload } from './flow-records.js'
import { hintMatchesSubject, idTokenHintClaims } from './id-token-hint.js'
import { redirect } from './response-mode.js'
import { denialError, takeVerifier } from './verify.js'

export interface ActiveSession {
  readonly sid: string
  readonly session: LoginSessionPayload
}

/** The browser's remembered authentication session, if its cookie names one that is still stored. */
export function authenticationSession(deps: FlowDeps, step: FlowStep): Promise<ActiveSession | undefined> {
  return authenticationSessionOf(deps, step.http.req, step.now)
}

/** authenticationSession for any request of the browser (the logout endpoint has no authorization step). */
export async function authenticationSessionOf(deps: FlowDeps, req: IncomingMessage, now: number): Promise<ActiveSession | undefined> {
  // Only a cookie this server signed counts: a sid learnt from an ID token is not a session.
  const sid = readSessionId(req, deps.settings.cookies)
  if (sid === undefined) return undefined
  const record = await deps.ctx.store.oidc.find('login_session', sid, now)
  if (record === undefined) return undefined
  const session = payloadOf<LoginSessionPayload>(record)
  return session.remember ? { sid, session } : undefined
}

/** No verifier yet: start the login (Hydra's requestAuthentication + forwardAuthenticationRequest). */
export async function requestAuthentication(deps: FlowDeps, step: FlowStep): Promise<void> {
  const { request } = step.auth
  const prompt = request.prompt
  const hintClaims = request.id_token_hint === undefined ? undefined : await idTokenHintClaims(deps.ctx.keys, request.id_token_hint)
  let active = prompt.includes('login') || prompt.includes('select_account') ? undefined : await authenticationSession(deps, step)
  if (active !== undefined && request.max_age !== undefined && active.session.authenticated_at + request.max_age < step.now) {
    if (prompt.includes('none')) throw fositeError('login_required', "Request failed because prompt is set to 'none' and authentication time reached 'max_age'.")
    active = undefined
  }
  if (active !== undefined && hintClaims !== undefined && !(await hintMatchesSubject(deps.ctx, step.auth.client, hintClaims.sub, active.session.subject, undefined, step.now))) {
    throw fositeError('login_required', 'Request failed because subject claim from id_token_hint does not match subject from authentication session.')
  }
  if (prompt.includes('none') && active === undefined) {
    throw fositeError('login_required', "Prompt 'none' was requested, but no existing login session was found.")
  }
  const challenge = newId()
  const flow: LoginFlow = {
    request,
    csrf: newId(),
    skip: active !== undefined,
    subject: active?.session.subject ?? '',
    session_id: active?.sid ?? randomUUID(),
    ...(active === undefined ? {} : { authenticated_at: active.session.authenticated_at }),
    ...(hintClaims === undefined ? {} : { id_token_hint_claims: hintClaims }),
  }
  await saveFlow(deps.ctx.store.oidc, 'login_request', challenge, flow, flowRecordExpiry(request.requested_at, deps.settings.requestTtl))
  const { cookies, requestTtl, loginUrl } = deps.settings
  setCsrfCookie(step.http.res, cookies, csrfCookieName(cookies, 'login', request.client_id), flow.csrf, requestTtl)
  const to = new URL(loginUrl)
  to.searchParams.set('login_challenge', challenge)
  redirect(step.http.res, 302, to.href)
}

/**
 * The browser is back with a `login_verifier` (Hydra's verifyAuthentication): returns the handled
 * login flow and its challenge, with the authentication session stored and its cookie set or
 * cleared as the login app asked.
 */
export async function verifyAuthentication(deps: FlowDeps, step: FlowStep, verifier: string): Promise<{ challenge: string; flow: LoginFlow }> {
  const records = deps.ctx.store.oidc
  const { challenge, record } = await takeVerifier(deps, step, 'login', verifier)
  const flow = payloadOf<LoginFlow>(record)
  if (flow.denied !== undefined) throw denialError(flow.denied, 'login request denied')
  const accepted = flow.accepted
  if (accepted === undefined) throw fositeError('access_denied', 'The login verifier has already been used, has not been granted, or is invalid.')
  // fosite's ValidatePrompt: whoever logged in must be the user the hint names.
  const hint = flow.id_token_hint_claims
  if (hint !== undefined && !(await hintMatchesSubject(deps.ctx, step.auth.client, hint.sub, accepted.subject, accepted.force_subject_identifier, step.now))) {
    throw fositeError('login_required', "Failed to validate OpenID Connect request because the subject from provided id token from id_token_hint does not match the current session's subject.")
  }
  const { cookies, sessionTtl } = deps.settings
  const rememberFor = accepted.remember_for > 0 ? Math.min(accepted.remember_for, sessionTtl) : sessionTtl
  const res = step.http.res
  const session: LoginSessionPayload = {
    subject: accepted.subject,
    authenticated_at: flow.authenticated_at ?? step.now,
    remember: accepted.remember,
    identity_provider_session_id: accepted.identity_provider_session_id,
  }
  const saveSession = (): Promise<void> =>
    records.upsert({ model: 'login_session', id: flow.session_id, payload: { ...session }, expires_at: step.now + rememberFor, subject: accepted.subject, sid: flow.session_id })
  if (!flow.skip) {
    await saveSession()
    if (!accepted.remember) {
      // Not to be remembered: any session this browser had is forgotten (Hydra's revokeAuthenticationSession).
      const old = readSessionId(step.http.req, cookies)
      if (old !== undefined && old !== flow.session_id) await records.destroy('login_session', old)
      clearSessionCookie(res, cookies)
    }
  } else if (accepted.extend_session_lifespan) {
    await saveSession()
  }
  // A skipped login keeps its cookie (and its original expiry) unless asked to extend it.
  if (accepted.remember && (!flow.skip || accepted.extend_session_lifespan)) {
    setSessionCookie(res, cookies, flow.session_id, accepted.remember_for > 0 ? accepted.remember_for : sessionTtl)
  }
  return { challenge, flow }
}
