import type { IncomingMessage } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import { GatehouseError, toGatehouseError } from '../errors.js'
import type { CompiledRule } from '../rules/compile.js'
import { decide, errorResponse, type DecisionDeps } from './decide.js'
import { GatewayRequest, pipelineHeaders, proxyTarget, requestIdOf, type RequestTarget } from './request.js'
import { openTunnel, writeErrorResponse } from './tunnel.js'

/** What the upgrade handler needs besides the rules and error handlers every decision uses. */
export interface UpgradeDeps extends DecisionDeps {
  readonly trustForwardedHeaders: boolean
  readonly matchForwardedHost: boolean
  /** How long the upstream may take to answer the upgrade request. */
  readonly timeoutMs: number
  /** True once the gateway is shutting down: new tunnels are refused with 503. */
  readonly closing: () => boolean
  /**
   * The client sockets of upgrades in progress and open tunnels. The HTTP server no longer
   * tracks a socket once it is upgraded, so the gateway cuts these itself when the grace ends.
   */
  readonly sockets: Set<Duplex>
}

/** Stand-in target for requests too malformed to have one (still answered by the error handlers). */
const UNPARSEABLE: RequestTarget = { method: 'GET', scheme: 'http', host: '', path: '/', search: '' }

/**
 * The proxy server's 'upgrade' listener (WebSocket and any other `Upgrade:` protocol). The
 * handshake request is matched and run through its rule's pipeline exactly like a proxied
 * request (mutated headers go upstream); allowed, it is tunnelled to the rule's upstream,
 * otherwise the error handler's answer is written on the socket and the socket closed.
 */
export function createUpgradeHandler(deps: UpgradeDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { logger, trustForwardedHeaders } = deps

  async function handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const started = performance.now()
    const requestId = requestIdOf(req.headers)
    const remote = req.socket.remoteAddress ?? ''
    let greq: GatewayRequest
    const headers = pipelineHeaders(req.headers, trustForwardedHeaders)
    try {
      greq = new GatewayRequest(proxyTarget(req, { trust: trustForwardedHeaders, matchHost: deps.matchForwardedHost }, deps.paths), headers, remote, requestId)
    } catch (err) {
      const e = toGatehouseError(err)
      writeErrorResponse(socket, errorResponse(deps, new GatewayRequest(UNPARSEABLE, headers, remote, requestId), undefined, e))
      return log(req.url, undefined, e.status, e.code)
    }
    const target = greq.target
    const d = deps.closing()
      ? { ok: false as const, rule: undefined, error: new GatehouseError('GATEHOUSE_ERR_UNAVAILABLE', { reason: 'the gateway is shutting down' }) }
      : await decide(deps, greq)
    if (!d.ok) {
      if (d.error.status >= 500) logger.error({ request_id: requestId, rule: d.rule?.id, code: d.error.code, reason: d.error.reason }, 'request failed')
      writeErrorResponse(socket, errorResponse(deps, greq, d.rule, d.error))
      return log(target.path, d.rule, d.error.status, d.error.code)
    }
    const up = d.rule.upstream
    try {
      if (up === null) throw new GatehouseError('GATEHOUSE_ERR_NO_UPSTREAM', { reason: `rule "${d.rule.id}" has no upstream.url` })
      const outcome = await openTunnel(
        req,
        socket,
        head,
        {
          upstream: up.url,
          path: target.path,
          search: target.search,
          stripPath: up.stripPath,
          preserveHost: up.preserveHost,
          setHeaders: d.session.Header,
          requestId,
          trustForwardedHeaders,
        },
        deps.timeoutMs,
      )
      // 499: nginx's "client closed request", as the proxy logs it.
      log(target.path, d.rule, outcome.kind === 'gone' ? 499 : outcome.status)
    } catch (err) {
      const e = toGatehouseError(err)
      logger.warn({ request_id: requestId, rule: d.rule.id, code: e.code, reason: e.reason }, 'upstream failed')
      writeErrorResponse(socket, errorResponse(deps, greq, d.rule, e))
      log(target.path, d.rule, e.status, e.code)
    }

    function log(path: string | undefined, rule: CompiledRule | undefined, status: number, code?: string): void {
      logger.info(
        {
          request_id: requestId,
          method: req.method,
          path,
          rule: rule?.id,
          upgrade: req.headers.upgrade,
          status,
          code,
          duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
        },
        'request',
      )
    }
  }

  return (req, socket, head) => {
    deps.sockets.add(socket)
    socket.once('close', () => deps.sockets.delete(socket))
    // Node stops handling errors of a socket it hands over; an unhandled one would crash the process.
    socket.on('error', (err) => logger.debug({ err }, 'upgraded connection failed'))
    handle(req, socket, head).catch((err: unknown) => {
      // Last resort: a bug must not leave the client hanging.
      logger.error({ err }, 'unhandled error in upgrade handler')
      socket.destroy()
    })
  }
}
