/**
 * Hydra's admin API for logout requests: `GET /admin/oauth2/auth/requests/logout?logout_challenge=`,
 * `PUT …/logout/accept` (answers `{redirect_to}`: the public logout endpoint with a
 * `logout_verifier`, which ends the session there) and `PUT …/logout/reject` (204; the logout
 * app sends the user elsewhere, nothing changes). As in Hydra, a logout request may be read and
 * accepted until it expires; the logout endpoint uses the verifier once. The logout endpoint
 * itself (RP-initiated logout, front- and back-channel) writes the `logout_request` records.
 */
import { clientJson } from '../../client.js'
import { sendEmpty, sendJson } from '../../http/io.js'
import type { Route, RouteContext } from '../../http/router.js'
import type { OidcRecord } from '../records.js'
import type { FlowDeps } from './deps.js'
import { challengeNotFound, fositeError } from './errors.js'
import { newId, nowSeconds, payloadOf, type LogoutFlow } from './flow-records.js'

const NO_STORE = { 'cache-control': 'no-store' }

export function adminLogoutRoutes(deps: FlowDeps): Route[] {
  const base = '/admin/oauth2/auth/requests/logout'
  return [
    { method: 'GET', path: base, handler: getLogout(deps) },
    { method: 'PUT', path: `${base}/accept`, handler: acceptLogout(deps) },
    { method: 'PUT', path: `${base}/reject`, handler: rejectLogout(deps) },
  ]
}

async function load(deps: FlowDeps, query: URLSearchParams): Promise<{ challenge: string; record: OidcRecord }> {
  const challenge = query.get('logout_challenge') || query.get('challenge') || ''
  if (challenge === '') throw fositeError('invalid_request', "Query parameter 'challenge' is not defined but should have been.")
  const record = await deps.ctx.store.oidc.find('logout_request', challenge, nowSeconds())
  if (record === undefined) throw challengeNotFound()
  return { challenge, record }
}

function getLogout(deps: FlowDeps) {
  return async ({ res, query }: RouteContext): Promise<void> => {
    const { challenge, record } = await load(deps, query)
    const f = payloadOf<LogoutFlow>(record)
    const client = f.client_id === '' ? undefined : await deps.ctx.store.getClient(f.client_id)
    sendJson(res, 200, {
      challenge,
      subject: f.subject,
      ...(f.sid === '' ? {} : { sid: f.sid }),
      request_url: f.request_url,
      rp_initiated: f.rp_initiated,
      expires_at: new Date(record.expires_at * 1000).toISOString(),
      requested_at: new Date(f.requested_at * 1000).toISOString(),
      client: client === undefined ? null : clientJson(client, { stored: true }),
    }, NO_STORE)
  }
}

function acceptLogout(deps: FlowDeps) {
  return async ({ res, query }: RouteContext): Promise<void> => {
    const { challenge, record } = await load(deps, query)
    const verifier = newId()
    await deps.ctx.store.oidc.upsert({ model: 'verifier', id: verifier, payload: { kind: 'logout', challenge }, expires_at: record.expires_at, subject: record.subject, sid: record.sid })
    // On the public URL, as Hydra (urls.self.public, else the issuer).
    const to = new URL(deps.settings.logoutEndpoint)
    to.searchParams.set('logout_verifier', verifier)
    sendJson(res, 200, { redirect_to: to.href }, NO_STORE)
  }
}

function rejectLogout(deps: FlowDeps) {
  return async ({ res, query }: RouteContext): Promise<void> => {
    await load(deps, query)
    sendEmpty(res, 204)
  }
}
