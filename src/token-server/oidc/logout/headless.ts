import type { FlowDeps } from '../flow/deps.js'
import { nowSeconds, payloadOf, type LoginSessionPayload } from '../flow/flow-records.js'
import { logoutClients } from './session-clients.js'

/**
 * `DELETE /admin/oauth2/auth/sessions/login?sid=` (Hydra's HandleHeadlessLogout): the session
 * ends and its clients hear of it by back-channel (there is no browser for front-channel). A
 * session that is gone, or was never remembered, is left alone without notifying anyone, as in
 * Hydra; of concurrent revocations only the one that deletes the session notifies.
 */
export async function headlessLogout(deps: FlowDeps, sid: string): Promise<void> {
  const records = deps.ctx.store.oidc
  const now = nowSeconds()
  const record = await records.find('login_session', sid, now)
  if (record === undefined) return
  const session = payloadOf<LoginSessionPayload>(record)
  if (!session.remember) return
  const clients = await logoutClients(deps, session.subject, sid, now)
  if (!(await records.destroy('login_session', sid))) return
  await deps.backChannel.notify(clients.back, sid)
  deps.ctx.logger.info({ subject: session.subject, sid }, 'User logout completed via headless flow')
}
