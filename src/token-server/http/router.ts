import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { invalidRequest, methodNotAllowed, notFound, OAuthError, serverError, unavailable } from '../oauth-error.js'
import { StoreUnavailableError } from '../store/types.js'
import { sendJson } from './io.js'

/** What a route handler gets: the request, the response, path parameters and the query. */
export interface RouteContext {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  /** The request's own URL, absolute (for Location and Link headers). */
  readonly url: URL
}

export type RouteHandler = (ctx: RouteContext) => Promise<void>

/** `path` may hold `{name}` segments, e.g. `/admin/clients/{id}`. */
export interface Route {
  readonly method: string
  readonly path: string
  readonly handler: RouteHandler
}

interface CompiledRoute {
  readonly path: string
  readonly re: RegExp
  readonly names: readonly string[]
  readonly methods: Map<string, RouteHandler>
}

/**
 * A tiny router for the token server's two APIs: routes are compiled once; a request runs one
 * regex per route shape (a dozen at most). Errors thrown by handlers become Hydra-shaped JSON:
 * OAuthError as is, a store outage as 503, anything else as a logged 500 without details.
 */
/** Called once per answered request with the route's pattern (not the raw path: bounded label values). */
export type ObserveRequest = (route: string, status: number) => void

/**
 * `prefix` (the admin API's `/admin`): a path that does not start with it is served as if it did,
 * as Hydra 2.x's admin port does (`POST /clients` is `POST /admin/clients`), so scripts written
 * for Hydra 1.x, which had no prefix, keep working.
 */
export function createRouter(
  routes: readonly Route[],
  logger: Logger,
  observe?: ObserveRequest,
  prefix?: string,
): (req: IncomingMessage, res: ServerResponse) => void {
  const byShape = new Map<string, CompiledRoute>()
  for (const r of routes) {
    const names: string[] = []
    const source = r.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
      names.push(name)
      return '([^/]+)'
    })
    let entry = byShape.get(source)
    if (entry === undefined) {
      entry = { path: r.path, re: new RegExp(`^${source}/?$`), names, methods: new Map() }
      byShape.set(source, entry)
    }
    entry.methods.set(r.method, r.handler)
  }
  const compiled = [...byShape.values()]

  return (req, res) => {
    const raw = withPrefix(req.url ?? '/', prefix)
    const q = raw.indexOf('?')
    const path = q === -1 ? raw : raw.slice(0, q)
    let handler: RouteHandler | undefined
    let params: Record<string, string> = {}
    let error: OAuthError | undefined
    let route = 'unknown'
    for (const c of compiled) {
      const m = c.re.exec(path)
      if (m === null) continue
      route = c.path
      handler = c.methods.get(req.method ?? 'GET') ?? (req.method === 'HEAD' ? c.methods.get('GET') : undefined)
      if (handler === undefined) error = methodNotAllowed([...c.methods.keys()].join(', '))
      try {
        params = Object.fromEntries(c.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]))
      } catch {
        error = notFound('the path is not valid percent-encoding')
      }
      break
    }
    if (observe !== undefined) res.once('finish', () => observe(route, res.statusCode))
    if (handler === undefined || error !== undefined) {
      send(res, error ?? notFound(`no such endpoint: ${req.method} ${path}`))
      return
    }
    const url = new URL(raw, `http://${req.headers.host ?? 'localhost'}`)
    if (raw.includes('%00') || Object.values(params).some((p) => p.includes('\u0000'))) {
      send(res, invalidRequest('the request contains a NUL character'))
      return
    }
    handler({ req, res, params, query: url.searchParams, url }).catch((err: unknown) => {
      if (err instanceof OAuthError) return send(res, err)
      if (err instanceof StoreUnavailableError) {
        logger.error({ err: err.message, path }, 'store unavailable')
        return send(res, unavailable())
      }
      logger.error({ err, path }, 'unhandled error in token server')
      send(res, serverError())
    })
  }
}

/** Hydra's AddAdminPrefixIfNotPresent: a plain string-prefix test, then the prefix joined in front. */
function withPrefix(raw: string, prefix: string | undefined): string {
  if (prefix === undefined || raw.startsWith(prefix)) return raw
  return raw === '/' || raw.startsWith('/?') ? prefix + raw.slice(1) : prefix + (raw.startsWith('/') ? raw : `/${raw}`)
}

function send(res: ServerResponse, err: OAuthError): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  sendJson(res, err.status, err.toJSON(), { ...err.headers, 'cache-control': 'no-store' })
}
