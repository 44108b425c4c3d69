/**
 * Using a verifier the browser brought back (`login_verifier`, `consent_verifier`): the flow it
 * unlocks must belong to this request's client and to this browser (its CSRF cookie holds the
 * flow's CSRF value: a verifier completed in another browser is refused), and the verifier is
 * used once, atomically. The flow is then marked used, so the admin API answers 410 for it.
 * A request decided twice has two verifiers, each carrying its own decision; as in Hydra, the
 * first one used completes the flow and every other is refused: the challenge, too, is consumed
 * exactly once.
 */
import { OAuthError } from '../../oauth-error.js'
import type { OidcRecord } from '../records.js'
import { csrfCookieName, readCookies } from './cookies.js'
import type { FlowDeps, FlowStep } from './deps.js'
import { fositeError } from './errors.js'
import { flowExpired, payloadOf, type Denial, type VerifierPayload } from './flow-records.js'

export async function takeVerifier(deps: FlowDeps, step: FlowStep, kind: 'login' | 'consent', verifier: string): Promise<{ challenge: string; record: OidcRecord }> {
  const records = deps.ctx.store.oidc
  const invalid = fositeError('access_denied', `The ${kind} verifier has already been used, has not been granted, or is invalid.`)
  const v = await records.find('verifier', verifier, step.now)
  if (v === undefined || payloadOf<VerifierPayload>(v).kind !== kind) throw invalid
  if (v.consumed_at !== undefined) throw fositeError('access_denied', `The ${kind} verifier has already been used.`)
  const { challenge } = payloadOf<VerifierPayload>(v)
  const model = kind === 'login' ? 'login_request' : 'consent_request'
  const record = await records.find(model, challenge, step.now)
  if (record === undefined) throw invalid
  const flow = payloadOf<{ csrf: string; request: { client_id: string; requested_at: number } }>(record)
  if (flowExpired(flow.request.requested_at, deps.settings.requestTtl, step.now)) throw requestExpired(kind)
  if (flow.request.client_id !== step.auth.client.client_id) {
    throw fositeError('invalid_client', 'The flow client id does not match the authorize request client id.')
  }
  // Before the verifier is used: a request from another browser must not burn it.
  checkCsrf(deps, step, kind, flow.csrf)
  const taken = await records.consume('verifier', verifier, step.now)
  if (taken.status === 'again') throw fositeError('access_denied', `The ${kind} verifier has already been used.`)
  if (taken.status === 'missing') throw invalid
  // Another verifier of the same challenge (a second decision) may have been used meanwhile.
  const flowTaken = await records.consume(model, challenge, step.now)
  if (flowTaken.status === 'again') throw fositeError('access_denied', `The ${kind} verifier has already been used.`)
  if (flowTaken.status === 'missing') throw invalid
  const decision = payloadOf<VerifierPayload>(v).decision ?? {}
  return { challenge, record: { ...flowTaken.record, payload: { ...flowTaken.record.payload, ...decision } } }
}

/** Hydra's answer for a login or consent request past ttl.login_consent_request (401). */
export function requestExpired(kind: 'login' | 'consent'): OAuthError {
  return fositeError('request_unauthorized', `The ${kind} request has expired, please try again.`)
}

/** Hydra's validateCSRFCookie, with its hints. */
export function checkCsrf(deps: FlowDeps, step: FlowStep, kind: 'login' | 'consent', expected: string): void {
  const { cookies } = deps.settings
  const value = readCookies(step.http.req)[csrfCookieName(cookies, kind, step.auth.client.client_id)]
  if (value === undefined || value === '') throw fositeError('request_forbidden', 'No CSRF value available in the session cookie.')
  if (value !== expected) throw fositeError('request_forbidden', 'The CSRF value from the token does not match the CSRF value from the data store.')
}

/** A login or consent app's rejection as the client sees it (Hydra's RequestDeniedError.ToRFCError). */
export function denialError(d: Denial, defaultName: string): OAuthError {
  const name = d.error === '' ? defaultName : d.error
  const description = [d.error_description, d.error_hint].filter((s) => s !== '').join(' ')
  return new OAuthError(d.status_code > 0 ? d.status_code : 400, name, description.replaceAll('"', "'"))
}
