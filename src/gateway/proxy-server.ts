import type { IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import { GatehouseError, toGatehouseError } from '../errors.js'
import { traceContextOf } from '../observability/trace-context.js'
import type { ErrorResponse } from '../pipeline/types.js'
import type { CompiledRule } from '../rules/compile.js'
import { setHeaderList, type Cors } from './cors.js'
import { decide, errorResponse, type DecisionDeps } from './decide.js'
import { forward } from './forward.js'
import { GatewayRequest, pipelineHeaders, proxyTarget, requestIdOf, type RequestTarget } from './request.js'
import { sendErrorResponse, statusForLog } from './respond.js'
import type { Upstreams } from './upstreams.js'

export interface ProxyDeps extends DecisionDeps {
  readonly upstreams: Upstreams
  readonly trustForwardedHeaders: boolean
  /** `serve.proxy.match_forwarded_host`: with trusted headers, match X-Forwarded-Host. */
  readonly matchForwardedHost: boolean
  /** `serve.proxy.cors` compiled; undefined when CORS is off. */
  readonly cors?: Cors | undefined
}

/** Stand-in target for requests too malformed to have one (still answered by the error handlers). */
const UNPARSEABLE: RequestTarget = { method: 'GET', scheme: 'http', host: '', path: '/', search: '' }

/** The reverse proxy's request handler: match → pipeline → forward, or the error handler's answer. */
export function createProxyHandler(deps: ProxyDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, upstreams, trustForwardedHeaders, cors, metrics } = deps
  const unmatched = metrics.unmatched('proxy')
  // Built once: the same for every request.
  const forwardedTrust = { trust: trustForwardedHeaders, matchHost: deps.matchForwardedHost }

  /**
   * Counts the request (on the rule's pre-bound stats) and writes its log line. The line names
   * the rule and, for a refused or failed request, the error code: a 401 in production leads
   * to the rule and the reason (GATEHOUSE_ERR_NO_AUTHENTICATOR or a handler's own) in one line.
   * A function of the gateway, not a closure made per request.
   */
  function finish(
    res: ServerResponse,
    started: number,
    requestId: string,
    traceId: string,
    method: string | undefined,
    path: string | undefined,
    rule: CompiledRule | undefined,
    code?: string,
  ): void {
    const ms = performance.now() - started
    const status = statusForLog(res)
    ;(rule?.stats.proxy ?? unmatched).record(method ?? 'GET', status, ms / 1000)
    logger.info(
      { request_id: requestId, trace_id: traceId, method, path, rule: rule?.id, status, code, duration_ms: Math.round(ms * 1000) / 1000 },
      'request',
    )
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now()
    const requestId = requestIdOf(req.headers)
    const trace = traceContextOf(req.headers)
    if (cors?.isPreflight(req) === true) {
      // Answered here, before any rule: browsers send preflights without credentials.
      cors.answerPreflight(req, res)
      finish(res, started, requestId, trace.traceId, req.method, req.url, undefined)
      return
    }
    const corsHeaders = cors?.actualHeaders(req)
    let target: RequestTarget
    let greq: GatewayRequest
    const headers = pipelineHeaders(req.headers, trustForwardedHeaders)
    try {
      target = proxyTarget(req, forwardedTrust, deps.paths)
      greq = new GatewayRequest(target, headers, req.socket.remoteAddress ?? '', requestId, req, trace)
    } catch (err) {
      const r = new GatewayRequest(UNPARSEABLE, headers, req.socket.remoteAddress ?? '', requestId, undefined, trace)
      const e = toGatehouseError(err)
      sendError(res, corsHeaders, errorResponse(deps, r, undefined, e))
      finish(res, started, requestId, trace.traceId, req.method, req.url, undefined, e.code)
      return
    }

    const d = await decide(deps, greq)
    const ruleId = d.rule?.id
    if (!d.ok) {
      if (d.error.status >= 500) logger.error({ request_id: requestId, rule: ruleId, code: d.error.code, reason: d.error.reason }, 'request failed')
      sendError(res, corsHeaders, errorResponse(deps, greq, d.rule, d.error))
      finish(res, started, requestId, trace.traceId, target.method, target.path, d.rule, d.error.code)
      return
    }
    const up = d.rule.upstream
    let failure: string | undefined
    try {
      if (up === null) throw new GatehouseError('GATEHOUSE_ERR_NO_UPSTREAM', { reason: `rule "${d.rule.id}" has no upstream.url` })
      await forward(
        req,
        res,
        {
          upstream: up.url,
          path: target.path,
          search: target.search,
          stripPath: up.stripPath,
          preserveHost: up.preserveHost,
          setHeaders: d.session.Header,
          requestId,
          trustForwardedHeaders,
          body: greq.bufferedBody,
          trace,
          cors: corsHeaders,
        },
        upstreams,
      )
    } catch (err) {
      const e = toGatehouseError(err)
      if (e.code === 'GATEHOUSE_ERR_UPSTREAM_TIMEOUT') metrics.upstreamError(d.rule.id, 'timeout')
      else if (e.code === 'GATEHOUSE_ERR_UPSTREAM_UNREACHABLE') metrics.upstreamError(d.rule.id, 'unreachable')
      logger.warn({ request_id: requestId, rule: ruleId, code: e.code, reason: e.reason }, 'upstream failed')
      sendError(res, corsHeaders, errorResponse(deps, greq, d.rule, e))
      failure = e.code
    }
    finish(res, started, requestId, trace.traceId, target.method, target.path, d.rule, failure)
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Last resort: a bug must not leave the client hanging or leak a stack trace.
      logger.error({ err }, 'unhandled error in proxy handler')
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end('{"error":{"code":500,"status":"Internal Server Error","message":"An internal server error occurred"}}\n')
      } else res.destroy()
    })
  }
}

/** An error handler's answer, with the CORS headers of an actual request when CORS is on. */
function sendError(res: ServerResponse, corsHeaders: readonly string[] | undefined, r: ErrorResponse): void {
  // writeHead with an object (sendErrorResponse) keeps headers set before; the forwarded path
  // cannot use setHeader (see forward.ts), which is why CORS headers travel in lists.
  if (corsHeaders !== undefined && !res.headersSent) setHeaderList(res, corsHeaders)
  sendErrorResponse(res, r)
}
