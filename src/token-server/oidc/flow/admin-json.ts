/**
 * Hydra's admin JSON for flows (OAuth2LoginRequest, OAuth2ConsentRequest, OAuth2ConsentSession in
 * @ory/hydra-client), and the bodies login and consent apps send, checked field by field.
 */
import { clientJson } from '../../client.js'
import type { ClientRecord } from '../../store/types.js'
import { isPlainObject } from '../../../util/deep-merge.js'
import type { AuthorizationRequest } from '../authorization.js'
import { fositeError } from './errors.js'
import type { ConsentAcceptance, ConsentFlow, ConsentSessionPayload, Denial, LoginAcceptance, LoginFlow } from './flow-records.js'

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString()

/** Hydra's OAuth2ConsentRequestOpenIDConnectContext: every field `omitempty`. */
function oidcContext(r: AuthorizationRequest, hint: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  return {
    ...(r.acr_values.length > 0 ? { acr_values: r.acr_values } : {}),
    ...(r.display !== undefined && r.display !== '' ? { display: r.display } : {}),
    ...(hint !== undefined && Object.keys(hint).length > 0 ? { id_token_hint_claims: hint } : {}),
    ...(r.login_hint !== undefined && r.login_hint !== '' ? { login_hint: r.login_hint } : {}),
    ...(r.ui_locales.length > 0 ? { ui_locales: r.ui_locales } : {}),
  }
}

export function loginRequestJson(challenge: string, f: LoginFlow, client: ClientRecord | undefined): Record<string, unknown> {
  return {
    challenge,
    requested_scope: f.request.scope,
    requested_access_token_audience: f.request.audience,
    skip: f.skip,
    subject: f.subject,
    oidc_context: oidcContext(f.request, f.id_token_hint_claims),
    client: client === undefined ? null : clientJson(client, { stored: true }),
    request_url: f.request.request_url,
    session_id: f.session_id,
  }
}

export function consentRequestJson(challenge: string, f: ConsentFlow, client: ClientRecord | undefined): Record<string, unknown> {
  return {
    challenge,
    // The consent session that completing this request creates has the same id (sessions.ts).
    consent_request_id: challenge,
    requested_scope: f.request.scope,
    requested_access_token_audience: f.request.audience,
    skip: f.skip,
    subject: f.subject,
    oidc_context: oidcContext(f.request, f.id_token_hint_claims),
    client: client === undefined ? null : clientJson(client, { stored: true }),
    request_url: f.request.request_url,
    login_challenge: f.login_challenge,
    login_session_id: f.session_id,
    acr: f.acr,
    amr: f.amr,
    context: f.context ?? {},
  }
}

export function consentSessionJson(s: ConsentSessionPayload, challenge: string, client: ClientRecord | undefined): Record<string, unknown> {
  return {
    consent_request_id: challenge,
    consent_request: consentRequestJson(challenge, s.consent, client),
    grant_scope: s.grant_scope,
    grant_access_token_audience: s.grant_access_token_audience,
    remember: s.remember,
    remember_for: s.remember_for,
    handled_at: iso(s.handled_at),
    session: s.session,
    context: s.consent.context ?? {},
  }
}

function object(body: unknown): Record<string, unknown> {
  // JSON null decodes into Go's zero-valued struct in Hydra: no fields given.
  if (body === null) return {}
  if (!isPlainObject(body)) throw fositeError('invalid_request', 'Unable to decode body because: the body must be a JSON object')
  return body
}

function str(b: Record<string, unknown>, f: string): string {
  const v = b[f]
  if (v === undefined || v === null) return ''
  if (typeof v !== 'string') throw fositeError('invalid_request', `Unable to decode body because: field '${f}' must be a string`)
  return v
}

function strings(b: Record<string, unknown>, f: string): string[] {
  const v = b[f]
  if (v === undefined || v === null) return []
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw fositeError('invalid_request', `Unable to decode body because: field '${f}' must be a list of strings`)
  return v as string[]
}

function bool(b: Record<string, unknown>, f: string): boolean {
  const v = b[f]
  if (v === undefined || v === null) return false
  if (typeof v !== 'boolean') throw fositeError('invalid_request', `Unable to decode body because: field '${f}' must be a boolean`)
  return v
}

function seconds(b: Record<string, unknown>, f: string): number {
  const v = b[f]
  if (v === undefined || v === null) return 0
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw fositeError('invalid_request', `Unable to decode body because: field '${f}' must be a non-negative integer (seconds)`)
  return v
}

function claims(b: Record<string, unknown>, f: string): Record<string, unknown> {
  const v = b[f]
  if (v === undefined || v === null) return {}
  if (!isPlainObject(v)) throw fositeError('invalid_request', `Unable to decode body because: field '${f}' must be a JSON object`)
  return v
}

export function parseLoginAccept(body: unknown): LoginAcceptance {
  const b = object(body)
  const subject = str(b, 'subject')
  if (subject === '') throw fositeError('invalid_request', "Field 'subject' must not be empty.")
  return {
    subject,
    remember: bool(b, 'remember'),
    remember_for: seconds(b, 'remember_for'),
    acr: str(b, 'acr'),
    amr: strings(b, 'amr'),
    context: b.context ?? {},
    extend_session_lifespan: bool(b, 'extend_session_lifespan'),
    force_subject_identifier: str(b, 'force_subject_identifier'),
    identity_provider_session_id: str(b, 'identity_provider_session_id'),
  }
}

export function parseConsentAccept(body: unknown, now: number): ConsentAcceptance {
  const b = object(body)
  const session = claims(b, 'session')
  return {
    grant_scope: strings(b, 'grant_scope'),
    grant_access_token_audience: strings(b, 'grant_access_token_audience'),
    remember: bool(b, 'remember'),
    remember_for: seconds(b, 'remember_for'),
    session: { access_token: claims(session, 'access_token'), id_token: claims(session, 'id_token') },
    handled_at: now,
    ...(b.context === undefined || b.context === null ? {} : { context: b.context }),
  }
}

export function parseDenial(body: unknown): Denial {
  const b = object(body)
  const code = b.status_code
  if (code !== undefined && code !== null && (typeof code !== 'number' || !Number.isInteger(code) || code < 400 || code > 599)) {
    throw fositeError('invalid_request', "Unable to decode body because: field 'status_code' must be an HTTP error status")
  }
  return {
    error: str(b, 'error'),
    error_description: str(b, 'error_description'),
    error_hint: str(b, 'error_hint'),
    error_debug: str(b, 'error_debug'),
    status_code: typeof code === 'number' ? code : 0,
  }
}
