import type { IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import { GatehouseError, toGatehouseError } from '../errors.js'
import { decide, errorResponse, type DecisionDeps } from './decide.js'
import { forward } from './forward.js'
import { GatewayRequest, proxyTarget, requestIdOf, type RequestTarget } from './request.js'
import { sendErrorResponse, statusForLog } from './respond.js'
import type { Upstreams } from './upstreams.js'

export interface ProxyDeps extends DecisionDeps {
  readonly upstreams: Upstreams
  readonly trustForwardedHeaders: boolean
}

/** Stand-in target for requests too malformed to have one (still answered by the error handlers). */
const UNPARSEABLE: RequestTarget = { method: 'GET', scheme: 'http', host: '', path: '/', search: '' }

/** The reverse proxy's request handler: match → pipeline → forward, or the error handler's answer. */
export function createProxyHandler(deps: ProxyDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, upstreams, trustForwardedHeaders } = deps

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now()
    const requestId = requestIdOf(req.headers)
    let target: RequestTarget
    let greq: GatewayRequest
    let ruleId: string | undefined
    try {
      target = proxyTarget(req, trustForwardedHeaders)
      greq = new GatewayRequest(target, req.headers, req.socket.remoteAddress ?? '', requestId, req)
    } catch (err) {
      const r = new GatewayRequest(UNPARSEABLE, req.headers, req.socket.remoteAddress ?? '', requestId)
      sendErrorResponse(res, errorResponse(deps, r, undefined, toGatehouseError(err)))
      logRequest(req.method, req.url, undefined)
      return
    }

    const d = await decide(deps, greq)
    ruleId = d.rule?.id
    if (!d.ok) {
      if (d.error.status >= 500) logger.error({ request_id: requestId, rule: ruleId, code: d.error.code, reason: d.error.reason }, 'request failed')
      sendErrorResponse(res, errorResponse(deps, greq, d.rule, d.error))
      logRequest(target.method, target.path, ruleId)
      return
    }
    const up = d.rule.upstream
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
        },
        upstreams,
      )
    } catch (err) {
      const e = toGatehouseError(err)
      logger.warn({ request_id: requestId, rule: ruleId, code: e.code, reason: e.reason }, 'upstream failed')
      sendErrorResponse(res, errorResponse(deps, greq, d.rule, e))
    }
    logRequest(target.method, target.path, ruleId)

    function logRequest(method: string | undefined, path: string | undefined, rule: string | undefined): void {
      logger.info(
        { request_id: requestId, method, path, rule, status: statusForLog(res), duration_ms: Math.round((performance.now() - started) * 1000) / 1000 },
        'request',
      )
    }
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Last resort: a bug must not leave the client hanging or leak a stack trace.
      logger.error({ err }, 'unhandled error in proxy handler')
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end('{"error":{"code":500,"status":"Internal Server Error","message":"An internal server error occurred"}}')
      } else res.destroy()
    })
  }
}

