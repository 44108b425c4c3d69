/**
 * Runs one case through the gateway's own decision path (rule set → decide → error handler
 * selection → upstream headers), in process: the same code the proxy runs, with the handlers'
 * HTTP client replaced by the fake and the upstream call replaced by the headers it would get.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import type { Logger } from 'pino'
import { GatehouseError, toGatehouseError } from '../../errors.js'
import { decide, type DecisionDeps } from '../../gateway/decide.js'
import { upstreamRequestHeaders } from '../../gateway/forward-headers.js'
import { upstreamPath } from '../../gateway/forward.js'
import { GatewayRequest, pipelineHeaders, splitTarget } from '../../gateway/request.js'
import type { RuleSet } from '../../gateway/rule-set.js'
import type { GatewayMetrics } from '../../observability/metrics.js'
import { renderError, selectErrorHandler } from '../../pipeline/run.js'
import type { CompiledRule, ErrorStep } from '../../rules/compile.js'
import type { CaseRequest } from './cases.js'

/** What happened to a request, in the terms of a case's `expect`. */
export interface Outcome {
  status: number
  rule: string | null
  subject?: string
  upstream?: { url: string; headers: Record<string, string> }
  redirect?: string
  error_handler?: string
  error?: string
  /** Why the request was refused: shown with a failed case, never compared. */
  reason?: string
}

export interface DecideContext {
  readonly rules: RuleSet
  readonly fallbackErrors: readonly ErrorStep[]
  readonly logger: Logger
  readonly allowDoubleEncoded: boolean
  /** `serve.proxy.trust_forwarded_headers`: otherwise X-Forwarded-* of a case are dropped, as the proxy drops them. */
  readonly trustForwardedHeaders: boolean
  /** Required by the decision path; nothing reads it here. */
  readonly metrics: GatewayMetrics
}

const REQUEST_ID = 'rules-test'

export async function runRequest(ctx: DecideContext, r: CaseRequest, bearer: string | undefined): Promise<Outcome> {
  const url = new URL(r.url)
  const method = (r.method ?? 'GET').toUpperCase()
  const body = r.body === undefined ? undefined : Buffer.from(typeof r.body === 'string' ? r.body : JSON.stringify(r.body))
  const headers = requestHeaders(r, url, body, bearer)
  const seen = pipelineHeaders(headers, ctx.trustForwardedHeaders)
  const set = (): RuleSet => ctx.rules
  const paths = { allowDoubleEncoded: ctx.allowDoubleEncoded }
  const deps: DecisionDeps = { rules: set, fallbackErrors: ctx.fallbackErrors, paths, logger: ctx.logger, metrics: ctx.metrics }
  const remoteAddress = r.remote_ip ?? '127.0.0.1'
  const source = body === undefined ? undefined : (Readable.from([body]) as unknown as IncomingMessage)

  let greq: GatewayRequest
  try {
    const { path, matchPath, search } = splitTarget(`${url.pathname}${url.search}`, paths)
    greq = new GatewayRequest({ method, scheme: url.protocol.slice(0, -1), host: url.host, path, matchPath, search }, seen, remoteAddress, REQUEST_ID, source)
  } catch (err) {
    const e = toGatehouseError(err)
    const unparsed = new GatewayRequest({ method, scheme: 'http', host: '', path: '/', search: '' }, seen, remoteAddress, REQUEST_ID)
    return refused(deps, unparsed, undefined, e)
  }
  const d = await decide(deps, greq)
  if (!d.ok) return refused(deps, greq, d.rule, d.error)
  const up = d.rule.upstream
  if (up === null) return refused(deps, greq, d.rule, new GatehouseError('GATEHOUSE_ERR_NO_UPSTREAM', { reason: `rule "${d.rule.id}" has no upstream.url` }))
  const basePath = up.url.pathname.endsWith('/') ? up.url.pathname.slice(0, -1) : up.url.pathname
  const fakeReq = { headers, socket: { remoteAddress } } as unknown as IncomingMessage
  const list = upstreamRequestHeaders(fakeReq, { preserveHost: up.preserveHost, trustForwardedHeaders: ctx.trustForwardedHeaders, requestId: REQUEST_ID, setHeaders: d.session.Header }, up.url.host)
  const sent: Record<string, string> = {}
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!.toLowerCase()
    sent[name] = sent[name] === undefined ? list[i + 1]! : `${sent[name]}, ${list[i + 1]!}`
  }
  return {
    status: 200,
    rule: d.rule.id,
    subject: d.session.Subject,
    upstream: { url: `${up.url.origin}${upstreamPath(basePath, greq.target.path, up.stripPath, greq.target.search)}`, headers: sent },
  }
}

function refused(deps: DecisionDeps, req: GatewayRequest, rule: CompiledRule | undefined, err: GatehouseError): Outcome {
  const handler = selectErrorHandler(err, req, rule?.errors, deps.fallbackErrors)
  const answer = renderError(err, req, rule?.errors, deps.fallbackErrors)
  const location = Object.entries(answer.headers).find(([k]) => k.toLowerCase() === 'location')?.[1]
  return {
    status: answer.status,
    rule: rule?.id ?? null,
    ...(handler !== undefined ? { error_handler: handler.id } : {}),
    ...(location !== undefined ? { redirect: location } : {}),
    error: err.code,
    ...(err.reason !== undefined ? { reason: err.reason } : {}),
  }
}

function requestHeaders(r: CaseRequest, url: URL, body: Buffer | undefined, bearer: string | undefined): IncomingHttpHeaders {
  const h: IncomingHttpHeaders = { host: url.host }
  for (const [k, v] of Object.entries(r.headers ?? {})) h[k.toLowerCase()] = v
  if (bearer !== undefined) h.authorization = `Bearer ${bearer}`
  const cookies = Object.entries(r.cookies ?? {}).map(([k, v]) => `${k}=${v}`)
  if (cookies.length > 0) h.cookie = [h.cookie, ...cookies].filter((c) => c !== undefined && c !== '').join('; ')
  if (body !== undefined) {
    h['content-length'] = String(body.length)
    if (h['content-type'] === undefined && typeof r.body !== 'string') h['content-type'] = 'application/json'
  }
  return h
}
