/**
 * Hydra's session admin API: `GET /admin/oauth2/auth/sessions/consent?subject=[&login_session_id=]`
 * lists a subject's granted consents (skipped ones are not consents of their own, as in Hydra);
 * `DELETE …/sessions/consent?subject=&client=|subject=&all=true|consent_request_id=` revokes consents and every token issued
 * under them (announced to gateways); `DELETE …/sessions/login?subject=|sid=` forgets
 * authentication sessions, so the next authorization asks the user to log in (by sid, with
 * back-channel logout).
 */
import { sendEmpty, sendJson } from '../../http/io.js'
import type { Route, RouteContext } from '../../http/router.js'
import type { ClientRecord } from '../../store/types.js'
import { revokeGrant } from '../issue/revoke-grant.js'
import type { OidcRecord } from '../records.js'
import { consentSessionJson } from './admin-json.js'
import { headlessLogout } from '../logout/headless.js'
import type { FlowDeps } from './deps.js'
import { fositeError } from './errors.js'
import { nowSeconds, payloadOf, type ConsentSessionPayload } from './flow-records.js'

export function sessionRoutes(deps: FlowDeps): Route[] {
  const base = '/admin/oauth2/auth/sessions'
  return [
    { method: 'GET', path: `${base}/consent`, handler: listConsents(deps) },
    { method: 'DELETE', path: `${base}/consent`, handler: revokeConsents(deps) },
    { method: 'DELETE', path: `${base}/login`, handler: revokeLogins(deps) },
  ]
}

function listConsents(deps: FlowDeps) {
  return async ({ res, query }: RouteContext): Promise<void> => {
    const subject = query.get('subject') ?? ''
    if (subject === '') throw fositeError('invalid_request', "Query parameter 'subject' is not defined but should have been.")
    const sid = query.get('login_session_id') ?? ''
    const now = nowSeconds()
    const found = await deps.ctx.store.oidc.findBy('consent_session', sid === '' ? { subject } : { subject, sid }, now)
    const clients = new Map<string, ClientRecord | undefined>()
    const out: Record<string, unknown>[] = []
    for (const r of found) {
      const s = payloadOf<ConsentSessionPayload>(r)
      if (s.skip) continue
      // A consent whose remember_for ran out is not listed, as in Hydra (counted from the request).
      if (s.remember_for > 0 && s.consent.request.requested_at + s.remember_for <= now) continue
      const id = r.client_id ?? ''
      if (!clients.has(id)) clients.set(id, await deps.ctx.store.getClient(id))
      out.push(consentSessionJson(s, r.id, clients.get(id)))
    }
    sendJson(res, 200, out, { 'cache-control': 'no-store' })
  }
}

/** Hydra's three forms: one consent by `consent_request_id`; a subject's for one `client`; a subject's for `all=true` clients. */
function revokeConsents(deps: FlowDeps) {
  return async ({ res, query }: RouteContext): Promise<void> => {
    const subject = query.get('subject') ?? ''
    const client = query.get('client') ?? ''
    const consentRequestId = query.get('consent_request_id') ?? ''
    const all = query.get('all') === 'true'
    const records = deps.ctx.store.oidc
    let found: OidcRecord[]
    if (consentRequestId !== '' && subject === '' && client === '') {
      const one = await records.find('consent_session', consentRequestId, 0)
      found = one === undefined ? [] : [one]
    } else if (consentRequestId === '' && subject !== '' && client !== '' && !all) {
      found = await records.findBy('consent_session', { subject, client_id: client }, 0)
    } else if (consentRequestId === '' && subject !== '' && client === '' && all) {
      found = await records.findBy('consent_session', { subject }, 0)
    } else {
      throw fositeError('invalid_request', 'Invalid combination of query parameters.')
    }
    for (const r of found) await revokeConsent(deps, r)
    sendEmpty(res, 204)
  }
}

/**
 * The consent's tokens are revoked and announced, then the grant's records (consent, codes,
 * refresh state); the grant's tombstone stops an issuance from it still in flight (revoke-grant.ts).
 */
async function revokeConsent(deps: FlowDeps, r: OidcRecord): Promise<void> {
  const { ctx } = deps
  if (r.grant_id === undefined) {
    await ctx.store.oidc.destroy('consent_session', r.id)
    return
  }
  const tokens = await revokeGrant(ctx, r.grant_id, 'consent_session')
  ctx.logger.info({ client_id: r.client_id, tokens }, 'consent revoked')
}

function revokeLogins(deps: FlowDeps) {
  return async ({ res, query }: RouteContext): Promise<void> => {
    const subject = query.get('subject') ?? ''
    const sid = query.get('sid') ?? ''
    if (subject === '' && sid === '') throw fositeError('invalid_request', "Either 'subject' or 'sid' query parameters need to be defined.")
    // By sid: the session's clients are told by back-channel (Hydra 2.x); by subject: nobody is.
    if (sid !== '') await headlessLogout(deps, sid)
    else await deps.ctx.store.oidc.destroyBy('login_session', { subject })
    sendEmpty(res, 204)
  }
}
