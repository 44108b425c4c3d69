import type { IncomingHttpHeaders } from 'node:http'
import type { TraceContext } from '../observability/trace-context.js'

/** Read access to the incoming request headers from templates: `.MatchContext.Header.Get "X"`. */
export interface HeaderView {
  /** First value of the header, '' when absent (Go's http.Header.Get). Case-insensitive. */
  Get(name: string): string
}

/** What the rule matched; exposed to templates with Oathkeeper's field names. */
export interface MatchContext {
  /** Captures of the top-level `<…>` groups of the matched URL pattern, in order. */
  readonly RegexpCaptureGroups: readonly string[]
  /** The normalised request URL (what was matched and what is forwarded). */
  readonly URL: URL
  /** Upper-case request method. */
  readonly Method: string
  readonly Header: HeaderView
}

/**
 * The AuthenticationSession passed along the pipeline, with Oathkeeper's field names so the
 * same templates work. Authenticators fill Subject/Extra, mutators fill Header.
 */
export interface AuthenticationSession {
  Subject: string
  Extra: Record<string, unknown>
  /** Headers to set on the upstream request (or to return from the decision API). */
  Header: Record<string, string>
  readonly MatchContext: MatchContext
  /**
   * Set by the `noop` mutator. Oathkeeper's noop makes the request's headers the session's, so
   * its decision API answers 200 with them (front proxies copy e.g. Authorization from it).
   * Kept as a flag rather than copied into Header: the proxy forwards the request's headers
   * anyway, and copying them would re-send ones it deliberately drops (hop-by-hop, untrusted
   * X-Forwarded-*).
   */
  withRequestHeaders?: boolean
}

/** The request as the pipeline sees it, for both the proxy and the decision API. */
export interface PipelineRequest {
  /** Upper-case method. */
  readonly method: string
  /** Normalised absolute URL including the query string. */
  readonly url: URL
  /** Incoming headers, lower-case names (node's IncomingHttpHeaders). */
  readonly headers: IncomingHttpHeaders
  readonly remoteAddress: string
  readonly requestId: string
  /**
   * The W3C trace the request belongs to. Handlers send its traceparent/tracestate with the
   * calls they make for this request (remote-call.ts and the introspection client do).
   * Absent where no gateway request stands behind (unit tests).
   */
  readonly trace?: TraceContext
  /**
   * The request body, buffered, for handlers that must see it (the `remote` authorizer).
   * Rejects with GATEHOUSE_ERR_PAYLOAD_TOO_LARGE (413) when it is longer than `limit` bytes.
   * A request without a body yields an empty Buffer. Reading is done once; later calls get the
   * same Buffer (checked against their own limit). In the proxy, a body read here is what is
   * forwarded upstream; requests whose handlers never call this are streamed. Absent where a
   * request has no body to offer.
   */
  readBody?(limit: number): Promise<Buffer>
}

export function headerView(headers: IncomingHttpHeaders): HeaderView {
  return {
    Get(name: string): string {
      const v = headers[name.toLowerCase()]
      if (v === undefined) return ''
      return Array.isArray(v) ? (v[0] ?? '') : v
    },
  }
}

export function newSession(req: PipelineRequest, captures: readonly string[]): AuthenticationSession {
  return {
    Subject: '',
    Extra: {},
    Header: {},
    MatchContext: {
      RegexpCaptureGroups: captures,
      // A getter: the request may build its URL lazily, and most rules never read it.
      get URL() {
        return req.url
      },
      Method: req.method,
      Header: headerView(req.headers),
    },
  }
}
