import { randomUUID } from 'node:crypto'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { GatehouseError } from '../errors.js'
import type { TraceContext } from '../observability/trace-context.js'
import type { PipelineRequest } from '../pipeline/session.js'
import { hasBody } from './forward.js'
import { matchPath } from './match-path.js'
import { normalizePath, type PathPolicy } from './normalize.js'

/** Where a request is going, after normalisation: what is matched is also what is forwarded. */
export interface RequestTarget {
  readonly method: string
  readonly scheme: string
  readonly host: string
  /** Normalised path, escapes kept: what is forwarded. */
  readonly path: string
  /** The path rules are matched against: `path` decoded (match-path.ts); `path` when absent. */
  readonly matchPath?: string
  /** '?…' or ''. */
  readonly search: string
}

/**
 * The pipeline's view of a request. The URL object is built on first use only: most rules
 * (noop/allow/header without MatchContext.URL) never need it, and `new URL` is one of the more
 * expensive steps on the hot path.
 */
export class GatewayRequest implements PipelineRequest {
  #url: URL | undefined
  readonly method: string
  readonly #source: IncomingMessage | undefined
  #reading: Promise<Buffer> | undefined
  #buffered: Buffer | undefined

  /**
   * `source`: the incoming message whose body `readBody` may buffer. The proxy passes the client's
   * request; the decision API passes the decision request (its body is whatever the proxy in
   * front forwards, usually none), as Oathkeeper pipes that body to the `remote` authorizer.
   * `trace`: the request's trace context (traceContextOf), which handlers' calls carry on.
   */
  constructor(
    readonly target: RequestTarget,
    readonly headers: IncomingHttpHeaders,
    readonly remoteAddress: string,
    readonly requestId: string,
    source?: IncomingMessage,
    readonly trace?: TraceContext,
  ) {
    this.method = target.method
    this.#source = source
  }

  /**
   * The body a handler buffered, or undefined when none did (then the proxy streams the body):
   * the stream is consumed by then, so this Buffer is what goes upstream.
   */
  get bufferedBody(): Buffer | undefined {
    return this.#buffered
  }

  readBody(limit: number): Promise<Buffer> {
    this.#reading ??= readAll(this.#source, this.headers, limit).then((b) => (this.#buffered = b))
    return this.#reading.then((b) => {
      if (b.length > limit) throw tooLarge(limit)
      return b
    })
  }

  /** `scheme://host/path` without the query, the path decoded: the string rules are matched against. */
  get matchUrl(): string {
    return `${this.target.scheme}://${this.target.host}${this.target.matchPath ?? this.target.path}`
  }

  get url(): URL {
    if (this.#url === undefined) {
      // From the escaped path: a decoded `?` or `#` would end the path here.
      this.#url = new URL(`${this.target.scheme}://${this.target.host}${this.target.path}${this.target.search}`)
    }
    return this.#url
  }
}

const EMPTY = Buffer.alloc(0)

function tooLarge(limit: number): GatehouseError {
  return new GatehouseError('GATEHOUSE_ERR_PAYLOAD_TOO_LARGE', { reason: `the request body is larger than ${limit} bytes` })
}

/**
 * Buffers the body of `source`, refusing (413) one longer than `limit`: at once when its
 * Content-Length says so (nothing is read; Node discards the body after the answer), else as
 * soon as the bytes read pass the limit (the rest is read and discarded).
 */
function readAll(source: IncomingMessage | undefined, headers: IncomingHttpHeaders, limit: number): Promise<Buffer> {
  if (source === undefined || !hasBody(headers)) return Promise.resolve(EMPTY)
  const declared = Number(headers['content-length'])
  if (declared > limit) return Promise.reject(tooLarge(limit))
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (err: GatehouseError | undefined): void => {
      source.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
      if (err === undefined) resolve(Buffer.concat(chunks, size))
      else {
        // Discard the rest: a half-read body left paused would stall the keep-alive connection.
        source.resume()
        reject(err)
      }
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) done(tooLarge(limit))
      else chunks.push(chunk)
    }
    const onEnd = (): void => done(undefined)
    const onError = (err: Error): void => done(new GatehouseError('GATEHOUSE_ERR_BAD_REQUEST', { reason: `the request body could not be read: ${err.message}`, cause: err }))
    // 'close' before 'end': the client went away mid-body.
    const onClose = (): void => done(new GatehouseError('GATEHOUSE_ERR_BAD_REQUEST', { reason: 'the client closed the connection while sending the body' }))
    source.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
  })
}

/** The request id: an incoming X-Request-Id is honoured (if sane), else a new UUID. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const v = headers['x-request-id']
  if (typeof v === 'string' && v.length > 0 && v.length <= 200 && !/[^\x21-\x7e]/.test(v)) return v
  return randomUUID()
}

function first(v: string | string[] | undefined): string | undefined {
  if (Array.isArray(v)) return v[0]
  return v
}

/** Splits a request target into normalised path, its match form and raw search. Throws 400 on bad input. */
export function splitTarget(rawTarget: string, policy?: PathPolicy): { path: string; matchPath: string; search: string } {
  const q = rawTarget.indexOf('?')
  const rawPath = q === -1 ? rawTarget : rawTarget.slice(0, q)
  const path = normalizePath(rawPath, policy)
  return { path, matchPath: matchPath(path), search: q === -1 ? '' : rawTarget.slice(q) }
}

/**
 * `host[:port]` as RFC 3986 allows it (reg-name or IPv4, or a bracketed IPv6 literal). The host
 * is the start of the string rules are matched against, so anything that could extend it into
 * the path (`/`, `?`, `#`, `\\`) or into userinfo (`@`) must be refused: with
 * `X-Forwarded-Host: api.test/public` a request for `/admin/x` would be matched as
 * `http://api.test/public/admin/x` and forwarded as `/admin/x`.
 */
const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]*)?$/

/** The lower-cased host, or a 400 naming the header it came from. */
function checkedHost(value: string, header: string): string {
  if (!VALID_HOST.test(value)) throw new GatehouseError('GATEHOUSE_ERR_BAD_REQUEST', { reason: `invalid ${header} header` })
  return value.toLowerCase()
}

function hostOf(req: IncomingMessage): string {
  singleHost(req)
  const host = req.headers.host
  if (host === undefined || host === '') {
    throw new GatehouseError('GATEHOUSE_ERR_BAD_REQUEST', { reason: 'missing Host header' })
  }
  return checkedHost(host, 'Host')
}

/**
 * RFC 9112 §3.2: a request with more than one Host header is refused. Node keeps the first and
 * drops the others silently, while a proxy in front may have routed on the last one. A scan of
 * the raw names (length first, so most cost one comparison), only when the Host decides.
 */
function singleHost(req: IncomingMessage): void {
  const raw = req.rawHeaders
  let seen = false
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.length !== 4 || name.toLowerCase() !== 'host') continue
    if (seen) throw new GatehouseError('GATEHOUSE_ERR_BAD_REQUEST', { reason: 'more than one Host header' })
    seen = true
  }
}

/** The first X-Forwarded-Host value, checked like Host; undefined when absent or empty. */
function forwardedHostOf(req: IncomingMessage): string | undefined {
  const v = first(req.headers['x-forwarded-host'])?.split(',')[0]?.trim()
  return v ? checkedHost(v, 'X-Forwarded-Host') : undefined
}

/** How the proxy reads X-Forwarded-* (`serve.proxy.trust_forwarded_headers`, `match_forwarded_host`). */
export interface ForwardedTrust {
  /** X-Forwarded-Proto sets the scheme matched; X-Forwarded-* reach the pipeline and the upstream. */
  readonly trust: boolean
  /** With `trust`: match X-Forwarded-Host instead of Host (Oathkeeper always matches Host). */
  readonly matchHost: boolean
}

/**
 * The target of a proxied request. As Oathkeeper, the host matched is the Host header even when
 * forwarded headers are trusted (a balancer that rewrites Host keeps matching the same rules);
 * only X-Forwarded-Proto changes what is matched, unless `match_forwarded_host` asks for the host.
 */
export function proxyTarget(req: IncomingMessage, fwd: ForwardedTrust, policy?: PathPolicy): RequestTarget {
  const { path, matchPath, search } = splitTarget(req.url ?? '/', policy)
  let scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http'
  let host: string | undefined
  if (fwd.trust) {
    const p = first(req.headers['x-forwarded-proto'])?.split(',')[0]?.trim().toLowerCase()
    if (p === 'http' || p === 'https') scheme = p
    // Checked even when not matched: it is forwarded and read by the redirect error handler.
    const forwarded = forwardedHostOf(req)
    if (fwd.matchHost) host = forwarded
  }
  return { method: (req.method ?? 'GET').toUpperCase(), scheme, host: host ?? hostOf(req), path, matchPath, search }
}

/**
 * The headers the pipeline sees for a proxied request. Untrusted X-Forwarded-* and Forwarded
 * are dropped first, as Oathkeeper does before matching: a client must not be able to choose
 * the address a `when.remote_ip` condition, a template or a remote authorizer sees.
 * The incoming object is returned as is when it has none (no copy per request).
 */
export function pipelineHeaders(headers: IncomingHttpHeaders, trust: boolean): IncomingHttpHeaders {
  if (trust) return headers
  let copy: IncomingHttpHeaders | undefined
  for (const name in headers) {
    if (name === 'forwarded' || name.startsWith('x-forwarded')) {
      copy ??= { ...headers }
      delete copy[name]
    }
  }
  return copy ?? headers
}

/**
 * The target a decision request describes: X-Forwarded-Method/Proto/Host/Uri when present,
 * else the request itself minus the `/decisions` prefix (as Oathkeeper's decision API).
 */
export function decisionTarget(req: IncomingMessage, policy?: PathPolicy): RequestTarget {
  const h = req.headers
  const uri = first(h['x-forwarded-uri']) ?? (req.url ?? '/').slice('/decisions'.length)
  // `/decisions` and `/decisions?a=b` describe the empty path, as in Oathkeeper: such a request
  // matches `http://host`, not `http://host/`.
  const { path, matchPath, search } = uri === '' || uri.charCodeAt(0) === 0x3f /* ? */ ? { path: '', matchPath: '', search: uri } : splitTarget(uri, policy)
  const proto = first(h['x-forwarded-proto'])?.split(',')[0]?.trim().toLowerCase()
  const fwdHost = forwardedHostOf(req)
  return {
    method: (first(h['x-forwarded-method']) ?? req.method ?? 'GET').toUpperCase(),
    scheme: proto === 'https' ? 'https' : proto === 'http' ? 'http' : (req.socket as TLSSocket).encrypted ? 'https' : 'http',
    host: fwdHost || hostOf(req),
    path,
    matchPath,
    search,
  }
}
