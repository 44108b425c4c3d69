/**
 * Forwards an allowed request to its upstream and streams the answer back. Bodies are not
 * buffered here: the request body is handed to undici as a stream (unless a handler such as the
 * `remote` authorizer has already buffered it, then that Buffer is sent), the response body is
 * written chunk by chunk with backpressure.
 *
 * Hot-path choice: a dispatch handler (undici's lowest public API) instead of `request()` or
 * `stream()`. Those wrap every response in a Readable or register `finished()` listeners;
 * writing chunks straight into the ServerResponse and pausing undici on backpressure needs
 * neither, and hands us the parsed headers without a second conversion.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import { GatehouseError, type ErrorCode } from '../errors.js'
import type { TraceContext } from '../observability/trace-context.js'
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.js'
import type { OriginLoad, UpstreamRoute, Upstreams } from './upstreams.js'

/** One second: long enough for a queue slot to free up, short enough not to lose the client. */
const RETRY_AFTER: Readonly<Record<string, string>> = Object.freeze({ 'retry-after': '1' })

/** Where and how to forward one request; built by the proxy server from the matched rule. */
export interface ForwardTarget {
  /** The rule's upstream.url (origin and optional base path). */
  readonly upstream: URL
  /** Normalised request path (what was matched), before strip_path. */
  readonly path: string
  /** '?a=b' or ''. */
  readonly search: string
  /** upstream.strip_path: removed from the start of path when it is a whole-segment prefix. */
  readonly stripPath?: string
  /** Send the client's Host header instead of the upstream's. */
  readonly preserveHost: boolean
  /** Headers from mutators; they replace incoming headers of the same name (any case). */
  readonly setHeaders: Readonly<Record<string, string>>
  /** Sent as X-Request-Id. */
  readonly requestId: string
  /** Keep (and append to) incoming X-Forwarded-* / Forwarded instead of replacing them. */
  readonly trustForwardedHeaders: boolean
  /** The request body when a handler has already read it (see GatewayRequest.readBody); else it is streamed. */
  readonly body?: Buffer | undefined
  /** Sent as traceparent/tracestate (see forward-headers.ts). */
  readonly trace?: TraceContext | undefined
  /** The gateway's CORS headers for the answer, when CORS is on (see clientResponseHeaders). */
  readonly cors?: readonly string[] | undefined
}

/**
 * Streams req to the upstream and the upstream's response to res. Resolves when the response
 * is finished, or when the client went away (the upstream request is then aborted).
 * Rejects, before any response header was sent, with GATEHOUSE_ERR_UPSTREAM_UNREACHABLE (502:
 * refused, DNS, reset), GATEHOUSE_ERR_UPSTREAM_TIMEOUT (504: no response headers within the
 * route's deadline, counted from dispatch so that time in the pool's queue is included) or
 * GATEHOUSE_ERR_UPSTREAM_BUSY (503 with Retry-After, at once: the origin already holds as many
 * requests as its connections and queue allow), so the caller can answer through the error
 * handlers. A failure after the headers were sent destroys res (the client sees a cut response,
 * not a clean truncated one) and rejects with the same codes for logging; res is destroyed by
 * then, so no error response can follow.
 */
export function forward(req: IncomingMessage, res: ServerResponse, target: ForwardTarget, upstreams: Upstreams): Promise<void> {
  // Nobody left to answer (the client hung up while the pipeline ran): do not bother the upstream.
  if (res.destroyed || req.socket.destroyed) return Promise.resolve()
  let route: UpstreamRoute
  try {
    route = upstreams.route(target.upstream)
  } catch (err) {
    return Promise.reject(err)
  }
  const load = route.load
  // Fail fast: a request beyond connections + queue would only wait for a deadline it is
  // unlikely to meet, holding its client and memory meanwhile.
  if (!load.tryAcquire()) {
    return Promise.reject(
      new GatehouseError('GATEHOUSE_ERR_UPSTREAM_BUSY', {
        reason: `${target.upstream.origin} already holds ${load.inflight} requests (serve.proxy.upstream max_connections + max_queued)`,
        headers: RETRY_AFTER,
      }),
    )
  }
  // The target itself carries what the header builder needs: no per-request options object.
  const headers = upstreamRequestHeaders(req, target, route.host)
  const opts: Dispatcher.DispatchOptions = {
    path: upstreamPath(route.basePath, target.path, target.stripPath, target.search),
    method: req.method ?? 'GET',
    headers,
    // A bodiless request must not get a stream: undici would send it chunked. A body a handler
    // has buffered (the stream is consumed by then) goes as that Buffer.
    body: hasBody(req.headers) ? (target.body ?? req) : null,
  }
  const pool = route.pool
  return new Promise<void>((resolve, reject) => {
    // Errors undici finds in opts (bad header values) arrive through the handler, not as a throw.
    pool.dispatch(opts, new ForwardHandler(res, target.cors, load, route.deadlineMs, resolve, reject))
  })
}

/** upstream base path + (path without strip_path) + search; never empty. */
export function upstreamPath(basePath: string, path: string, stripPath: string | undefined, search: string): string {
  let rest = path
  if (stripPath !== undefined && stripPath !== '' && stripPath !== '/') {
    // Accept 'api', '/api' and '/api/' alike, as Oathkeeper trims the slashes of strip_path.
    let strip = stripPath.endsWith('/') ? stripPath.slice(0, -1) : stripPath
    if (strip.charCodeAt(0) !== 47 /* / */) strip = `/${strip}`
    // Whole segments only: strip_path /api must not turn /apix into "x".
    if (path === strip || (path.startsWith(strip) && path.charCodeAt(strip.length) === 47)) rest = path.slice(strip.length)
  }
  const p = basePath + rest
  return (p === '' ? '/' : p) + search
}

/** A request has a body when it announces one (RFC 9112 §6.3): chunked, or a non-zero length. */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true
  const len = headers['content-length']
  return len !== undefined && len !== '0'
}

const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])
/** undici refusing our own request (e.g. a mutator header value with a newline): our fault, 500. */
const OWN_FAULT_CODES: ReadonlySet<string> = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED'])

/** Maps an undici / socket error to the gateway's error catalogue. */
export function upstreamError(err: unknown): GatehouseError {
  if (err instanceof GatehouseError) return err
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : ''
  const message = err instanceof Error ? err.message : String(err)
  let gcode: ErrorCode = 'GATEHOUSE_ERR_UPSTREAM_UNREACHABLE'
  if (TIMEOUT_CODES.has(code)) gcode = 'GATEHOUSE_ERR_UPSTREAM_TIMEOUT'
  else if (OWN_FAULT_CODES.has(code)) gcode = 'GATEHOUSE_ERR_INTERNAL'
  return new GatehouseError(gcode, { reason: code === '' ? message : `${code}: ${message}`, cause: err })
}

/** Why we aborted the upstream request; never reaches anyone but undici. */
class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError'
}

/**
 * Receives the upstream's response for one request and writes it into res. One instance per
 * request; its listeners are bound once, in fields, and attached to res (and one timer) only.
 * It holds one count of the origin's load from construction until the response starts or the
 * request fails, and runs the deadline over that same span.
 */
class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse
  readonly #cors: readonly string[] | undefined
  readonly #resolve: () => void
  readonly #reject: (err: GatehouseError) => void
  readonly #load: OriginLoad
  readonly #deadlineMs: number
  #deadline: NodeJS.Timeout | null
  #controller: Dispatcher.DispatchController | null = null
  #settled = false
  #clientGone = false
  /** The deadline's error once it has passed; a request still queued then is aborted with it. */
  #timedOut: GatehouseError | null = null
  #released = false
  /** An upstream failure after the headers were sent, reported once res has closed. */
  #lateError: GatehouseError | null = null

  constructor(
    res: ServerResponse,
    cors: readonly string[] | undefined,
    load: OriginLoad,
    deadlineMs: number,
    resolve: () => void,
    reject: (err: GatehouseError) => void,
  ) {
    this.#res = res
    this.#cors = cors
    this.#load = load
    this.#deadlineMs = deadlineMs
    this.#resolve = resolve
    this.#reject = reject
    res.once('close', this.#onClose)
    // Started here, not when undici writes the request: a timeout that ignored the queue would
    // let a saturated pool answer after queue time + the timeout, a multiple of what is configured.
    this.#deadline = deadlineMs > 0 ? setTimeout(this.#onDeadline, deadlineMs) : null
  }

  /** The response started or the request failed: the origin's count goes down and the deadline is off. Idempotent. */
  #release(): void {
    if (this.#released) return
    this.#released = true
    this.#load.release()
    if (this.#deadline !== null) clearTimeout(this.#deadline)
    this.#deadline = null
  }

  /** No response headers in time: abort the upstream request and answer 504. */
  readonly #onDeadline = (): void => {
    this.#deadline = null
    const err = new GatehouseError('GATEHOUSE_ERR_UPSTREAM_TIMEOUT', {
      reason: `no response headers within ${this.#deadlineMs}ms of dispatch (pool queue, connect and send included)`,
    })
    this.#timedOut = err
    // On a socket: the abort reaches onResponseError, which answers with err.
    if (this.#controller !== null) {
      this.#controller.abort(err)
      return
    }
    // Still in the pool's queue, which has no way to take a request out: answer now, and
    // onRequestStart aborts it when it reaches a socket (it keeps its count until then, so the
    // queue bound stays true).
    if (this.#settled || this.#clientGone) return
    this.#settled = true
    this.#res.off('close', this.#onClose)
    this.#reject(err)
  }

  /** res closed: either the response finished, or the client left early (then stop the upstream). */
  readonly #onClose = (): void => {
    if (!this.#res.writableFinished && this.#lateError === null) {
      this.#clientGone = true
      this.#controller?.abort(new ClientGoneError('client closed the connection'))
    }
    if (this.#settled) return
    this.#settled = true
    if (this.#lateError !== null) this.#reject(this.#lateError)
    else this.#resolve()
  }

  readonly #onDrain = (): void => {
    this.#controller?.resume()
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    // The client left, or the deadline passed, while this request waited in the pool's queue.
    if (this.#clientGone) controller.abort(new ClientGoneError('client closed the connection'))
    else if (this.#timedOut !== null) controller.abort(this.#timedOut)
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx (100 Continue, 103 Early Hints) belong to this hop; Node answers the client's Expect itself.
    if (statusCode < 200) return
    this.#release()
    if (this.#clientGone) return
    const res = this.#res
    try {
      res.writeHead(statusCode, clientResponseHeaders(headers, this.#cors))
    } catch (err) {
      // Headers Node refuses to send (invalid characters): the upstream's answer is unusable.
      controller.abort(err instanceof Error ? err : new Error(String(err)))
      return
    }
    res.on('drain', this.#onDrain)
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // Backpressure: stop reading from the upstream until the client has taken what we wrote.
    if (!this.#res.write(chunk)) controller.pause()
  }

  onResponseEnd(): void {
    // Trailers are dropped: forwarding them would need a Trailer announcement we cannot make
    // once the headers are out. #onClose settles the promise after 'finish'.
    this.#res.end()
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#release()
    const res = this.#res
    // The client left first (e.g. mid-upload, which fails the body stream): nothing to report,
    // the 'close' listener settles the promise.
    if (this.#clientGone || this.#settled || res.destroyed || res.socket?.destroyed === true) return
    if (!res.headersSent) {
      // Before any byte went out: the caller answers through the error handlers.
      this.#settled = true
      res.off('close', this.#onClose)
      this.#reject(upstreamError(err))
      return
    }
    this.#lateError = upstreamError(err)
    res.destroy()
  }
}
