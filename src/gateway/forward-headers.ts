/**
 * Header rewriting for forwarded requests and responses (RFC 9110 §7.6.1, RFC 7230 §6.1):
 * hop-by-hop headers are removed in both directions, X-Forwarded-* are set, the rule's
 * mutator headers override what the client sent.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { TraceContext } from '../observability/trace-context.js'

/**
 * Headers that describe one connection, never forwarded (RFC 9110 §7.6.1 plus the legacy
 * Proxy-Connection and Keep-Alive). `expect` is answered by our own server (Node sends
 * "100 Continue") and undici refuses it, so it is not end-to-end here either.
 * Authorization stays (it is end-to-end); Proxy-Authorization was meant for us.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
])

/** Headers we compute ourselves; the client's values are read separately, never copied. */
const COMPUTED: ReadonlySet<string> = new Set(['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-request-id'])

const NONE: readonly string[] = []

/**
 * Header names listed in a Connection header (they are hop-by-hop too). The usual values
 * "keep-alive" / "close" name nothing extra and return the shared empty list, so the common
 * case allocates nothing.
 */
export function connectionTokens(value: string | string[] | undefined): readonly string[] {
  if (value === undefined) return NONE
  const joined = typeof value === 'string' ? value : value.join(',')
  const lower = joined.toLowerCase()
  if (lower === 'keep-alive' || lower === 'close') return NONE
  const out: string[] = []
  for (const token of lower.split(',')) {
    const t = token.trim()
    if (t !== '' && t !== 'keep-alive' && t !== 'close') out.push(t)
  }
  return out
}

/** True when the header must not cross the proxy (static list or named in Connection). */
export function isHopByHop(name: string, connectionNamed: readonly string[]): boolean {
  return HOP_BY_HOP.has(name) || (connectionNamed.length > 0 && connectionNamed.includes(name))
}

/** What the request headers are built from, besides the incoming message. */
export interface RequestHeaderInput {
  readonly preserveHost: boolean
  readonly trustForwardedHeaders: boolean
  readonly requestId: string
  readonly setHeaders: Readonly<Record<string, string>>
  /** When set, its traceparent/tracestate replace the client's (which may be missing or invalid). */
  readonly trace?: TraceContext | undefined
}

function notOverridden(overridden: readonly string[], name: string): boolean {
  return overridden.length === 0 || !overridden.includes(name)
}

function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

/**
 * The upstream request's headers as a flat `[name, value, …]` list: undici reads a flat
 * list pair by pair, which saves building an object only for it to be walked again.
 * `upstreamHost` (`host[:port]`) is sent as Host unless preserveHost.
 */
export function upstreamRequestHeaders(req: IncomingMessage, input: RequestHeaderInput, upstreamHost: string): string[] {
  const headers: IncomingHttpHeaders = req.headers
  const connectionNamed = connectionTokens(headers.connection)

  // Lower-cased names of the mutator headers. Mutators usually set none or one or two, so a
  // linear `includes` beats building a Set per request.
  const set = input.setHeaders
  const setNames = Object.keys(set)
  const overridden: readonly string[] = setNames.length === 0 ? NONE : setNames.map((n) => n.toLowerCase())

  const trace = input.trace
  const out: string[] = []
  for (const name in headers) {
    if (COMPUTED.has(name) || isHopByHop(name, connectionNamed) || !notOverridden(overridden, name)) continue
    if (trace !== undefined && (name === 'traceparent' || name === 'tracestate')) continue
    const value = headers[name]
    if (value === undefined) continue
    if (typeof value === 'string') out.push(name, value)
    else for (const v of value) out.push(name, v)
  }

  const clientHost = headers.host ?? ''
  const trusted = input.trustForwardedHeaders
  if (notOverridden(overridden, 'host')) out.push('host', input.preserveHost && clientHost !== '' ? clientHost : upstreamHost)

  if (notOverridden(overridden, 'x-forwarded-for')) {
    const addr = req.socket.remoteAddress ?? ''
    const incoming = trusted ? headers['x-forwarded-for'] : undefined
    const prior = incoming === undefined ? '' : typeof incoming === 'string' ? incoming : incoming.join(', ')
    out.push('x-forwarded-for', prior === '' ? addr : `${prior}, ${addr}`)
  }
  if (notOverridden(overridden, 'x-forwarded-proto')) {
    const incoming = trusted ? firstValue(headers['x-forwarded-proto']) : undefined
    out.push('x-forwarded-proto', incoming || ((req.socket as TLSSocket).encrypted ? 'https' : 'http'))
  }
  if (notOverridden(overridden, 'x-forwarded-host')) {
    const incoming = trusted ? firstValue(headers['x-forwarded-host']) : undefined
    const host = incoming || clientHost
    if (host !== '') out.push('x-forwarded-host', host)
  }
  // RFC 7239 Forwarded is passed on only from a trusted front proxy; from anyone else it is a
  // spoofing vector, and we do not write our own (X-Forwarded-* is what upstreams read).
  if (trusted && notOverridden(overridden, 'forwarded')) {
    const fwd = headers.forwarded
    if (fwd !== undefined) out.push('forwarded', fwd)
  }
  if (notOverridden(overridden, 'x-request-id')) out.push('x-request-id', input.requestId)
  if (trace !== undefined) {
    if (notOverridden(overridden, 'traceparent')) out.push('traceparent', trace.traceparent)
    if (trace.tracestate !== '' && notOverridden(overridden, 'tracestate')) out.push('tracestate', trace.tracestate)
  }

  for (const name of setNames) {
    const value = set[name]
    // A mutator cannot ask for hop-by-hop headers (undici rejects most of them anyway).
    if (value === undefined || HOP_BY_HOP.has(name.toLowerCase())) continue
    out.push(name, value)
  }
  return out
}

/**
 * The response headers for the client as a flat list (ServerResponse.writeHead accepts one
 * and keeps repeated names such as Set-Cookie as separate lines). Hop-by-hop headers,
 * including those the upstream named in its Connection header, are dropped.
 * `cors`: the gateway's CORS headers when CORS is on for the proxy. They are appended, and the
 * upstream's own Access-Control-* headers dropped: the gateway's policy is the one in force, and
 * two Access-Control-Allow-Origin headers make browsers refuse the answer.
 */
export function clientResponseHeaders(headers: IncomingHttpHeaders, cors?: readonly string[]): string[] {
  const connectionNamed = connectionTokens(headers.connection)
  const out: string[] = []
  for (const name in headers) {
    if (isHopByHop(name, connectionNamed)) continue
    if (cors !== undefined && name.startsWith('access-control-')) continue
    const value = headers[name]
    if (value === undefined) continue
    if (typeof value === 'string') out.push(name, value)
    else for (const v of value) out.push(name, v)
  }
  if (cors !== undefined) for (const v of cors) out.push(v)
  return out
}
