/**
 * Hydra's admin API for login and consent requests, as login and consent apps call it:
 * `GET /admin/oauth2/auth/requests/{login|consent}?{login|consent}_challenge=`, and
 * `PUT …/accept` / `PUT …/reject`, each answering `{redirect_to}` with a verifier the browser
 * brings back to /oauth2/auth. A request whose verifier was used answers 410 with the request URL
 * (Hydra's "already handled"); an unknown or expired challenge, 404. Until a verifier is used a
 * request may be decided again, as Hydra allows: each decision travels in its own verifier (the
 * request's record is not rewritten), and the first verifier the browser brings back completes
 * the flow; the others are refused then (verify.ts).
 */
import { readJson, sendJson } from '../../http/io.js'
import type { Route, RouteContext } from '../../http/router.js'
import type { OidcRecord } from '../records.js'
import { consentRequestJson, loginRequestJson, parseConsentAccept, parseDenial, parseLoginAccept } from './admin-json.js'
import type { FlowDeps } from './deps.js'
import { challengeNotFound, fositeError, requestAlreadyUsed } from './errors.js'
import { requestExpired } from './verify.js'
import { flowExpired, newId, nowSeconds, payloadOf, type ConsentAcceptance, type ConsentFlow, type Denial, type FlowDecision, type LoginAcceptance, type LoginFlow, type VerifierPayload } from './flow-records.js'

type Kind = 'login' | 'consent'
const MODEL = { login: 'login_request', consent: 'consent_request' } as const
const NO_STORE = { 'cache-control': 'no-store' }

export function adminRequestRoutes(deps: FlowDeps): Route[] {
  const base = '/admin/oauth2/auth/requests'
  return (['login', 'consent'] as const).flatMap((kind): Route[] => [
    { method: 'GET', path: `${base}/${kind}`, handler: getRequest(deps, kind) },
    { method: 'PUT', path: `${base}/${kind}/accept`, handler: decide(deps, kind, 'accept') },
    { method: 'PUT', path: `${base}/${kind}/reject`, handler: decide(deps, kind, 'reject') },
  ])
}

function challengeOf(kind: Kind, query: URLSearchParams): string {
  const c = query.get(`${kind}_challenge`) || query.get('challenge') || ''
  if (c === '') throw fositeError('invalid_request', "Query parameter 'challenge' is not defined but should have been.")
  return c
}

/**
 * The stored request, or the answer that stands for it: 404 unknown, 401 expired; once its
 * verifier was used, 410 with `redirect_to` to a GET and 409 to a decision (Hydra 2.1's answers).
 */
async function load(deps: FlowDeps, kind: Kind, ctx: RouteContext, now: number, decision = false): Promise<{ challenge: string; record: OidcRecord } | undefined> {
  const challenge = challengeOf(kind, ctx.query)
  const record = await deps.ctx.store.oidc.find(MODEL[kind], challenge, now)
  if (record === undefined) throw challengeNotFound()
  if (flowExpired(payloadOf<LoginFlow>(record).request.requested_at, deps.settings.requestTtl, now)) throw requestExpired(kind)
  if (record.consumed_at !== undefined) {
    if (decision) throw requestAlreadyUsed(kind)
    sendJson(ctx.res, 410, { redirect_to: payloadOf<LoginFlow>(record).request.request_url }, NO_STORE)
    return undefined
  }
  return { challenge, record }
}

function getRequest(deps: FlowDeps, kind: Kind) {
  return async (ctx: RouteContext): Promise<void> => {
    const found = await load(deps, kind, ctx, nowSeconds())
    if (found === undefined) return
    const flow = payloadOf<LoginFlow | ConsentFlow>(found.record)
    const client = await deps.ctx.store.getClient(flow.request.client_id)
    const body = kind === 'login' ? loginRequestJson(found.challenge, flow as LoginFlow, client) : consentRequestJson(found.challenge, flow as ConsentFlow, client)
    sendJson(ctx.res, 200, body, NO_STORE)
  }
}

function decide(deps: FlowDeps, kind: Kind, decision: 'accept' | 'reject') {
  return async (ctx: RouteContext): Promise<void> => {
    const now = nowSeconds()
    // The body is read (and checked) first, as Hydra does: a bad body is 400 whatever the challenge.
    challengeOf(kind, ctx.query)
    const body = await readJson(ctx.req)
    // Its fields too (Hydra decodes into its struct before the lookup), not only its syntax.
    const parsed = decision === 'reject' ? parseDenial(body) : kind === 'login' ? parseLoginAccept(body) : parseConsentAccept(body, now)
    const found = await load(deps, kind, ctx, now, true)
    if (found === undefined) return
    const { challenge, record } = found
    const flow = payloadOf<LoginFlow & ConsentFlow>(record)
    const requestUrl = new URL(flow.request.request_url)
    let next: FlowDecision
    if (decision === 'reject') {
      next = { denied: parsed as Denial }
    } else if (kind === 'login') {
      let accepted = parsed as LoginAcceptance
      if (flow.skip && accepted.subject !== flow.subject) {
        // Another user than the remembered one: the user must log in again (Hydra's answer).
        requestUrl.searchParams.set('prompt', 'login')
        sendJson(ctx.res, 200, { redirect_to: requestUrl.href }, NO_STORE)
        return
      }
      // A skipped login is remembered, so that consecutive logins of the same user keep skipping.
      if (flow.skip) accepted = { ...accepted, remember: true }
      next = { accepted, ...(flow.skip ? {} : { authenticated_at: now }) }
    } else {
      next = { accepted: parsed as ConsentAcceptance }
    }
    const verifier = newId()
    const payload: VerifierPayload = { kind, challenge, decision: next }
    await deps.ctx.store.oidc.upsert({ model: 'verifier', id: verifier, payload: payload as unknown as Record<string, unknown>, expires_at: record.expires_at, client_id: flow.request.client_id })
    requestUrl.searchParams.set(`${kind}_verifier`, verifier)
    sendJson(ctx.res, 200, { redirect_to: requestUrl.href }, NO_STORE)
  }
}

