import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { invalidRequest, methodNotAllowed, notFound, type OAuthError } from '../oauth-error.js'
import { renderJsonError, toOAuthError, type ErrorRenderer } from './errors.js'

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
  /** How this route answers the errors it throws; JSON (renderJsonError) when absent. */
  readonly renderError?: ErrorRenderer
}

interface Endpoint {
  readonly handler: RouteHandler
  readonly renderError: ErrorRenderer
}

interface CompiledRoute {
  readonly path: string
  readonly re: RegExp
  readonly names: readonly string[]
  readonly methods: Map<string, Endpoint>
}

/** Called once per answered request with the route's pattern (not the raw path: bounded label values). */
export type ObserveRequest = (route: string, status: number) => void

/**
 * A tiny router for the token server's two APIs: routes are compiled once; a request runs one
 * regex per route shape (a dozen at most). Errors thrown by a handler become an OAuthError
 * (toOAuthError: no stack trace or internal message leaks) rendered by that route's renderer;
 * errors found before a route is chosen (404, 405) are JSON.
 *
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
    entry.methods.set(r.method, { handler: r.handler, renderError: r.renderError ?? renderJsonError })
  }
  const compiled = [...byShape.values()]

  return (req, res) => {
    const raw = withPrefix(req.url ?? '/', prefix)
    const q = raw.indexOf('?')
    const path = q === -1 ? raw : raw.slice(0, q)
    let endpoint: Endpoint | undefined
    let params: Record<string, string> = {}
    let error: OAuthError | undefined
    let route = 'unknown'
    for (const c of compiled) {
      const m = c.re.exec(path)
      if (m === null) continue
      route = c.path
      endpoint = c.methods.get(req.method ?? 'GET') ?? (req.method === 'HEAD' ? c.methods.get('GET') : undefined)
      if (endpoint === undefined) error = methodNotAllowed([...c.methods.keys()].join(', '))
      try {
        params = Object.fromEntries(c.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]))
      } catch {
        error = notFound('the path is not valid percent-encoding')
      }
      break
    }
    if (observe !== undefined) res.once('finish', () => observe(route, res.statusCode))
    const url = requestUrl(raw, req.headers.host)
    const ctx: RouteContext = { req, res, params, query: url?.searchParams ?? new URLSearchParams(), url: url ?? FALLBACK_URL }
    if (url === undefined) error ??= invalidRequest('the Host header is not a valid host')
    if (endpoint === undefined || error !== undefined) {
      send(ctx, renderJsonError, error ?? notFound(`no such endpoint: ${req.method} ${path}`), logger)
      return
    }
    const { handler, renderError } = endpoint
    if (raw.includes('%00') || Object.values(params).some((p) => p.includes('\u0000'))) {
      send(ctx, renderError, invalidRequest('the request contains a NUL character'), logger)
      return
    }
    handler(ctx).catch((err: unknown) => send(ctx, renderError, toOAuthError(err, logger, path), logger))
  }
}

/** Stands in for the URL of a request whose Host header does not parse; such a request gets only a 400. */
const FALLBACK_URL = new URL('http://localhost/')

/**
 * The request's absolute URL, or undefined when its Host header is not a host (`Host: a b`):
 * `new URL` throws on it, and a throw here, outside any handler's promise, would end the process.
 */
function requestUrl(raw: string, host: string | undefined): URL | undefined {
  try {
    return new URL(raw, `http://${host ?? 'localhost'}`)
  } catch {
    return undefined
  }
}

/** Hydra's AddAdminPrefixIfNotPresent: a plain string-prefix test, then the prefix joined in front. */
function withPrefix(raw: string, prefix: string | undefined): string {
  if (prefix === undefined || raw.startsWith(prefix)) return raw
  return raw === '/' || raw.startsWith('/?') ? prefix + raw.slice(1) : prefix + (raw.startsWith('/') ? raw : `/${raw}`)
}

/** A response already under way cannot carry an error: the connection is cut instead. */
function send(ctx: RouteContext, render: ErrorRenderer, err: OAuthError, logger: Logger): void {
  if (ctx.res.headersSent) {
    ctx.res.destroy()
    return
  }
  try {
    render(ctx, err)
  } catch (failure) {
    // A renderer that fails (a redirect target it cannot build) must not leave the request hanging.
    logger.error({ err: failure }, 'error renderer failed; answering JSON')
    if (ctx.res.headersSent) ctx.res.destroy()
    else renderJsonError(ctx, err)
  }
}
