import type { ClientRecord } from '../../store/types.js'
import type { GrantedAuthorization } from '../authorization.js'
import type { OidcRecords } from '../records.js'
import type { IssueSettings } from './settings.js'
import { subjectFor } from './subject.js'

/**
 * What every token of one grant is minted from (Hydra keeps this as the session of each token's
 * row; here it is one `grant` record per grant_id). Fixed when the grant is first issued: a
 * refresh mints from it again; userinfo answers from it.
 */
export interface GrantState {
  readonly grant_id: string
  readonly client_id: string
  /** The login subject (access tokens' `sub`, as in Hydra). */
  readonly subject: string
  /** The subject the client sees in ID tokens and userinfo (public or pairwise). */
  readonly id_subject: string
  readonly scope: readonly string[]
  readonly audience: readonly string[]
  /** Consent's `session.access_token`: access tokens' `ext`. */
  readonly access_ext: Readonly<Record<string, unknown>>
  /** Consent's `session.id_token`: extra ID token and userinfo claims. */
  readonly id_ext: Readonly<Record<string, unknown>>
  readonly auth_time: number
  readonly requested_at: number
  /** When the grant was issued: userinfo's `iat`, as Hydra's session claims carry it. */
  readonly issued_at: number
  readonly acr: string
  readonly amr: readonly string[]
  readonly sid: string
  readonly nonce?: string | undefined
  /** The authorization request named `acr_values` (then an empty acr is published as "0"). */
  readonly acr_requested: boolean
  readonly consent_challenge: string
}

/** The grant's state, once login and consent are done and the client is known. */
export function grantStateOf(granted: GrantedAuthorization, client: ClientRecord, settings: IssueSettings, now: number): GrantState {
  const r = granted.request
  return {
    grant_id: granted.grant_id,
    client_id: r.client_id,
    subject: granted.subject,
    id_subject: subjectFor(client, granted.subject, granted.force_subject_identifier, settings),
    scope: [...granted.granted_scope],
    audience: [...granted.granted_audience],
    access_ext: granted.session.access_token,
    id_ext: granted.session.id_token,
    auth_time: granted.auth_time,
    requested_at: r.requested_at,
    issued_at: now,
    acr: granted.acr,
    amr: [...granted.amr],
    sid: granted.sid,
    nonce: r.nonce,
    acr_requested: r.acr_values.length > 0,
    consent_challenge: granted.consent_challenge,
  }
}

/**
 * Saves the grant's state to live at least until `until` (seconds): each issuance extends it to
 * its longest-lived token, so userinfo and refresh find it as long as a token of the grant is valid.
 */
export async function saveGrantState(records: OidcRecords, state: GrantState, until: number, now: number): Promise<void> {
  // A revoked grant is not brought back (a revocation racing this write is caught by mint.ts).
  if ((await records.find('revoked_grant', state.grant_id, now)) !== undefined) return
  const existing = await records.find('grant', state.grant_id, now)
  await records.upsert({
    model: 'grant',
    id: state.grant_id,
    payload: state as unknown as Record<string, unknown>,
    expires_at: Math.max(until, existing?.expires_at ?? 0),
    grant_id: state.grant_id,
    subject: state.subject,
    client_id: state.client_id,
    sid: state.sid,
  })
}

export async function loadGrantState(records: OidcRecords, grantId: string, now: number): Promise<GrantState | undefined> {
  const r = await records.find('grant', grantId, now)
  return r === undefined ? undefined : (r.payload as unknown as GrantState)
}
