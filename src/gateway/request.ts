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

function hostOf(req: IncomingMessage): string {
  const host = req.headers.host
  if (host === undefined || host === '' || /[\s/\\?#@]/.test(host)) {
    throw new GatehouseError('GATEHOUSE_ERR_BAD_REQUEST', { reason: 'missing or invalid Host header' })
  }
  return host.toLowerCase()
}

/** The target of a proxied request. X-Forwarded-Proto/Host are used only when trusted. */
export function proxyTarget(req: IncomingMessage, trustForwarded: boolean): RequestTarget {
  const { path, search } = splitTarget(req.url ?? '/')
  let scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http'
  let host: string | undefined
  if (trustForwarded) {
    const p = first(req.headers['x-forwarded-proto'])?.split(',')[0]?.trim().toLowerCase()
    if (p === 'http' || p === 'https') scheme = p
    host = first(req.headers['x-forwarded-host'])?.split(',')[0]?.trim().toLowerCase() || undefined
  }
  return { method: (req.method ?? 'GET').toUpperCase(), scheme, host: host ?? hostOf(req), path, search }
}

/**
 * The target a decision request describes: X-Forwarded-Method/Proto/Host/Uri when present,
 * else the request itself minus the `/decisions` prefix (as Oathkeeper's decision API).
 */
export function decisionTarget(req: IncomingMessage): RequestTarget {
  const h = req.headers
  const uri = first(h['x-forwarded-uri']) ?? (req.url ?? '/').slice('/decisions'.length)
  const { path, search } = splitTarget(uri === '' ? '/' : uri)
  const proto = first(h['x-forwarded-proto'])?.split(',')[0]?.trim().toLowerCase()
  const fwdHost = first(h['x-forwarded-host'])?.split(',')[0]?.trim().toLowerCase()
  return {
    method: (first(h['x-forwarded-method']) ?? req.method ?? 'GET').toUpperCase(),
    scheme: proto === 'https' ? 'https' : proto === 'http' ? 'http' : (req.socket as TLSSocket).encrypted ? 'https' : 'http',
    host: fwdHost || hostOf(req),
    path,
    search,
  }
}
