/**
 * The login and consent flows as stored records (OidcRecords): what each model's payload holds,
 * and reading and writing them. A challenge or verifier is a random id whose knowledge is the
 * capability (Hydra encrypts the flow into it instead); the record behind it is single-use
 * (consume), expires with ttl.login_consent_request, and is bound to the browser that started
 * it by the CSRF value kept here and in that browser's cookie.
 */
import { randomBytes } from 'node:crypto'
import type { OidcRecord, OidcRecords } from '../records.js'
import type { AuthorizationRequest } from '../authorization.js'

/** A login or consent app's rejection (Hydra's RequestDeniedError as the admin API accepts it). */
export interface Denial {
  readonly error: string
  readonly error_description: string
  readonly error_hint: string
  readonly error_debug: string
  readonly status_code: number
}

/** Login accept's body, as kept. */
export interface LoginAcceptance {
  readonly subject: string
  readonly remember: boolean
  readonly remember_for: number
  readonly acr: string
  readonly amr: readonly string[]
  readonly context: unknown
  readonly extend_session_lifespan: boolean
  readonly force_subject_identifier: string
  readonly identity_provider_session_id: string
}

export interface LoginFlow {
  readonly request: AuthorizationRequest
  readonly csrf: string
  /** A remembered authentication session applies: the login app is asked to confirm its subject. */
  readonly skip: boolean
  /** The session's subject when skip; '' otherwise. */
  readonly subject: string
  /** The authentication session this login creates or continues (the ID token's `sid`). */
  readonly session_id: string
  /** Seconds since the epoch; the session's when skip, else set on accept. */
  readonly authenticated_at?: number
  readonly id_token_hint_claims?: Readonly<Record<string, unknown>>
  readonly accepted?: LoginAcceptance
  readonly denied?: Denial
}

/** Consent accept's body, as kept. */
export interface ConsentAcceptance {
  readonly grant_scope: readonly string[]
  readonly grant_access_token_audience: readonly string[]
  readonly remember: boolean
  readonly remember_for: number
  readonly session: { readonly access_token: Readonly<Record<string, unknown>>; readonly id_token: Readonly<Record<string, unknown>> }
  /** Seconds since the epoch. */
  readonly handled_at: number
  readonly context?: unknown
}

export interface ConsentFlow {
  readonly request: AuthorizationRequest
  readonly login_challenge: string
  readonly subject: string
  readonly force_subject_identifier: string
  readonly session_id: string
  /** Whether the login was remembered (a login session exists in the store for session_id). */
  readonly login_remembered: boolean
  readonly acr: string
  readonly amr: readonly string[]
  readonly context: unknown
  readonly auth_time: number
  readonly id_token_hint_claims?: Readonly<Record<string, unknown>>
  readonly skip: boolean
  readonly csrf: string
  readonly accepted?: ConsentAcceptance
  readonly denied?: Denial
}

/**
 * A logout request (`logout_request`, id = logout challenge), written by the logout endpoint
 * (`/oauth2/sessions/logout`) and read and accepted through the admin API.
 */
export interface LogoutFlow {
  readonly subject: string
  /** The authentication session to end. */
  readonly sid: string
  readonly request_url: string
  /** Started by a relying party (with id_token_hint), not by the user at the server. */
  readonly rp_initiated: boolean
  /** The relying party's client id when rp_initiated; '' otherwise. */
  readonly client_id: string
  /** Where the browser goes after logout: a registered post_logout_redirect_uri (with state), or urls.post_logout_redirect. */
  readonly post_logout_redirect_uri: string
  /** Seconds since the epoch. */
  readonly requested_at: number
}

/**
 * One decision of the login or consent app, carried by the verifier it was answered with (Hydra
 * encodes it into the verifier): the challenge's record is never rewritten after it is created,
 * so a decision cannot undo the challenge's consumption.
 */
export interface FlowDecision {
  readonly accepted?: LoginAcceptance | ConsentAcceptance
  readonly denied?: Denial
  /** Login accept of a login that was not skipped: the user authenticated now (seconds). */
  readonly authenticated_at?: number
}

/** What a verifier unlocks. */
export interface VerifierPayload {
  readonly kind: 'login' | 'consent' | 'logout'
  readonly challenge: string
  /** Login and consent verifiers: the decision they were issued for. */
  readonly decision?: FlowDecision
}

/** A remembered authentication session (`login_session`, id = sid). */
export interface LoginSessionPayload {
  readonly subject: string
  readonly authenticated_at: number
  readonly remember: boolean
  readonly identity_provider_session_id: string
}

/** A granted consent (`consent_session`, id = consent challenge), kept for skip, listing and revocation. */
export interface ConsentSessionPayload {
  readonly consent: ConsentFlow
  readonly grant_scope: readonly string[]
  readonly grant_access_token_audience: readonly string[]
  readonly remember: boolean
  readonly remember_for: number
  readonly handled_at: number
  readonly session: ConsentAcceptance['session']
  /** Seconds since the epoch until which it may be reused without asking; null: forever (remember_for 0). */
  readonly remembered_until: number | null
  /** Was consent skipped (then it is not listed, as in Hydra). */
  readonly skip: boolean
}

/**
 * Whether a login or consent request is past ttl.login_consent_request, counted from the
 * authorization request as Hydra counts it (flow_encoding.go: RequestedAt + ConsentRequestMaxAge).
 */
export function flowExpired(requestedAt: number, ttl: number, now: number): boolean {
  return requestedAt + ttl < now
}

/**
 * When a login or consent request's record goes: as long again after it expired, so that using
 * it then is answered as expired (Hydra's 401 "has expired, please try again"), not as unknown.
 */
export function flowRecordExpiry(requestedAt: number, ttl: number): number {
  return requestedAt + 2 * ttl
}

/** A new challenge, verifier or CSRF value: 256 random bits. */
export function newId(): string {
  return randomBytes(32).toString('base64url')
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

export function payloadOf<T>(r: OidcRecord): T {
  return r.payload as unknown as T
}

/** Writes a login/consent flow record (same id: replaces), keeping its original expiry. */
export function saveFlow(records: OidcRecords, model: 'login_request' | 'consent_request', id: string, flow: LoginFlow | ConsentFlow, expiresAt: number, consumed?: number): Promise<void> {
  return records.upsert({
    model,
    id,
    payload: flow as unknown as Record<string, unknown>,
    expires_at: expiresAt,
    client_id: flow.request.client_id,
    subject: flow.subject === '' ? undefined : flow.subject,
    sid: flow.session_id,
    consumed_at: consumed,
  })
}
