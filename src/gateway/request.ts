import { randomUUID } from 'node:crypto'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { GatehouseError } from '../errors.js'
import type { PipelineRequest } from '../pipeline/session.js'
import { normalizePath } from './normalize.js'

/** Where a request is going, after normalisation: what is matched is also what is forwarded. */
export interface RequestTarget {
  readonly method: string
  readonly scheme: string
  readonly host: string
  /** Normalised path. */
  readonly path: string
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

  constructor(
    readonly target: RequestTarget,
    readonly headers: IncomingHttpHeaders,
    readonly remoteAddress: string,
    readonly requestId: string,
  ) {
    this.method = target.method
  }

  /** `scheme://host/path` without the query: the string rules are matched against. */
  get matchUrl(): string {
    return `${this.target.scheme}://${this.target.host}${this.target.path}`
  }

  get url(): URL {
    if (this.#url === undefined) {
      this.#url = new URL(`${this.matchUrl}${this.target.search}`)
    }
    return this.#url
  }
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

/** Splits a request target into normalised path and raw search. Throws 400 on bad input. */
export function splitTarget(rawTarget: string): { path: string; search: string } {
  const q = rawTarget.indexOf('?')
  const rawPath = q === -1 ? rawTarget : rawTarget.slice(0, q)
  return { path: normalizePath(rawPath), search: q === -1 ? '' : rawTarget.slice(q) }
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
  const host = req.headers.host
  if (host === undefined || host === '') {
    throw new GatehouseError('GATEHOUSE_ERR_BAD_REQUEST', { reason: 'missing Host header' })
  }
  return checkedHost(host, 'Host')
}

/** The first X-Forwarded-Host value, checked like Host; undefined when absent or empty. */
function forwardedHostOf(req: IncomingMessage): string | undefined {
  const v = first(req.headers['x-forwarded-host'])?.split(',')[0]?.trim()
  return v ? checkedHost(v, 'X-Forwarded-Host') : undefined
}

/** The target of a proxied request. X-Forwarded-Proto/Host are used only when trusted. */
export function proxyTarget(req: IncomingMessage, trustForwarded: boolean): RequestTarget {
  const { path, search } = splitTarget(req.url ?? '/')
  let scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http'
  let host: string | undefined
  if (trustForwarded) {
    const p = first(req.headers['x-forwarded-proto'])?.split(',')[0]?.trim().toLowerCase()
    if (p === 'http' || p === 'https') scheme = p
    host = forwardedHostOf(req)
  }
  return { method: (req.method ?? 'GET').toUpperCase(), scheme, host: host ?? hostOf(req), path, search }
}

/**
 * The target a decision request describes: X-Forwarded-Method/Proto/Host/Uri when present,
 * else the request itself minus the `/decisions` prefix (as Oathkeeper's decision API).
 */
export function decisionTarget(req: IncomingMessage): RequestTarget {
  const h = req.headers
  let uri = first(h['x-forwarded-uri']) ?? (req.url ?? '/').slice('/decisions'.length)
  // `/decisions` and `/decisions?a=b` describe the root path.
  if (uri === '' || uri.charCodeAt(0) === 0x3f /* ? */) uri = `/${uri}`
  const { path, search } = splitTarget(uri)
  const proto = first(h['x-forwarded-proto'])?.split(',')[0]?.trim().toLowerCase()
  const fwdHost = forwardedHostOf(req)
  return {
    method: (first(h['x-forwarded-method']) ?? req.method ?? 'GET').toUpperCase(),
    scheme: proto === 'https' ? 'https' : proto === 'http' ? 'http' : (req.socket as TLSSocket).encrypted ? 'https' : 'http',
    host: fwdHost || hostOf(req),
    path,
    search,
  }
}
