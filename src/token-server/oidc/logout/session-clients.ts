import type { ClientRecord } from '../../store/types.js'
import type { FlowDeps } from '../flow/deps.js'

/** The clients of one authentication session that asked to hear of its end. */
export interface LogoutClients {
  /** Those with a `frontchannel_logout_uri`. */
  readonly front: readonly ClientRecord[]
  /** Those with a `backchannel_logout_uri`. */
  readonly back: readonly ClientRecord[]
}

/**
 * Hydra's ListClientsWithLogoutURLsForSubjectAndSID: every client the subject consented to
 * during session `sid` (remembered or not, skipped or not: each completed flow records a
 * consent session with its sid), that registered a front- or back-channel logout URI. Read
 * before the session is deleted; a client deleted since is left out.
 */
export async function logoutClients(deps: FlowDeps, subject: string, sid: string, now: number): Promise<LogoutClients> {
  const flows = await deps.ctx.store.oidc.findBy('consent_session', { subject, sid }, now)
  const ids = [...new Set(flows.map((r) => r.client_id ?? '').filter((id) => id !== ''))]
  const front: ClientRecord[] = []
  const back: ClientRecord[] = []
  for (const id of ids) {
    const client = await deps.ctx.store.getClient(id)
    if (client === undefined) continue
    if (nonEmpty(client.data.frontchannel_logout_uri)) front.push(client)
    if (nonEmpty(client.data.backchannel_logout_uri)) back.push(client)
  }
  return { front, back }
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== ''
