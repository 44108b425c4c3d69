/**
 * CORS for the proxy and the decision API (`serve.proxy.cors`, `serve.api.cors`), with
 * Oathkeeper's keys and the behaviour of the library Oathkeeper uses (rs/cors): preflights are
 * answered by the gateway itself, before any rule is matched, because a browser never sends
 * credentials with them; actual requests run their rule as usual and get the
 * Access-Control-* headers on whatever answer they get (the upstream's, or an error handler's).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { CorsSettings } from '../config/types.js'
import { ConfigError } from '../errors.js'

/** The CORS policy of one server, compiled from its settings. */
export interface Cors {
  /** A preflight: OPTIONS with Access-Control-Request-Method. */
  isPreflight(req: IncomingMessage): boolean
  /**
   * Answers a preflight, 204 No Content. The Access-Control-Allow-* headers are there only
   * when origin, method and headers are all allowed; the browser reads their absence as "no".
   */
  answerPreflight(req: IncomingMessage, res: ServerResponse): void
  /** The headers for the answer to an actual request, as a flat [name, value, …] list. */
  actualHeaders(req: IncomingMessage): readonly string[]
}

/** An allowed origin with one `*`, e.g. https://*.example.com: any text may stand for the `*`. */
interface Wildcard {
  readonly prefix: string
  readonly suffix: string
}

/** rs/cors' defaults for lists left empty. */
const DEFAULT_METHODS = ['GET', 'POST', 'HEAD']
const DEFAULT_HEADERS = ['origin', 'accept', 'content-type', 'x-requested-with']
const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'

const NONE: readonly string[] = Object.freeze([])
/** Caches must keep answers to different origins apart even when this one got no CORS headers. */
const VARY_ONLY: readonly string[] = Object.freeze(['vary', 'Origin'])

/**
 * Compiles `settings` (undefined when CORS is off: no cost at all then).
 * @param where the settings' key path, e.g. "serve.proxy.cors", for errors and debug lines.
 * @throws ConfigError naming an allowed origin with more than one `*`.
 */
export function compileCors(settings: CorsSettings, where: string, logger: Logger): Cors | undefined {
  if (!settings.enabled) return undefined
  const origins = new Set<string>()
  const wildcards: Wildcard[] = []
  // rs/cors: an empty list, like a "*" in it, allows every origin.
  let anyOrigin = settings.allowed_origins.length === 0
  const problems: string[] = []
  settings.allowed_origins.forEach((raw, i) => {
    // Origins are compared case-insensitively (rs/cors does, though the spec says otherwise).
    const o = raw.toLowerCase()
    const star = o.indexOf('*')
    if (o === '*') anyOrigin = true
    else if (star === -1) origins.add(o)
    else if (o.indexOf('*', star + 1) !== -1) problems.push(`${where}.allowed_origins[${i}]: only one "*" is allowed per origin (got "${raw}")`)
    else wildcards.push({ prefix: o.slice(0, star), suffix: o.slice(star + 1) })
  })
  if (problems.length > 0) throw new ConfigError(`invalid ${where}`, problems)
  const credentials = settings.allow_credentials
  if (anyOrigin && credentials) {
    // As rs/cors: every origin then gets itself echoed, with cookies: allowed, but rarely meant.
    logger.warn({ cors: where }, `${where}: allow_credentials with every origin allowed lets any web site send credentialed requests`)
  }
  const methods = new Set((settings.allowed_methods.length > 0 ? settings.allowed_methods : DEFAULT_METHODS).map((m) => m.toUpperCase()))
  const anyHeader = settings.allowed_headers.includes('*')
  // "Origin" is always allowed: some browsers list it in every preflight.
  const headers = new Set(settings.allowed_headers.length > 0 ? [...settings.allowed_headers.map((h) => h.toLowerCase()), 'origin'] : DEFAULT_HEADERS)
  const exposed = settings.exposed_headers.map(canonicalHeaderName).join(', ')
  const maxAge = settings.max_age > 0 ? String(settings.max_age) : ''
  const debug = settings.debug ? (origin: string | undefined, message: string): void => logger.info({ cors: where, origin }, `cors: ${message}`) : undefined

  const originAllowed = (origin: string): boolean => {
    if (anyOrigin) return true
    const o = origin.toLowerCase()
    if (origins.has(o)) return true
    for (const w of wildcards) {
      if (o.length >= w.prefix.length + w.suffix.length && o.startsWith(w.prefix) && o.endsWith(w.suffix)) return true
    }
    return false
  }
  // A preflight's own OPTIONS is always fine; other methods must be listed.
  const methodAllowed = (m: string): boolean => m === 'OPTIONS' || methods.has(m)
  const allowOrigin = (origin: string): string => (anyOrigin && !credentials ? '*' : origin)

  return {
    isPreflight(req) {
      return req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined
    },

    answerPreflight(req, res) {
      const out: Record<string, string> = { vary: PREFLIGHT_VARY, 'content-length': '0' }
      const origin = req.headers.origin
      const method = String(req.headers['access-control-request-method'] ?? '').trim().toUpperCase()
      const requested = headerList(req.headers['access-control-request-headers'])
      let refused: string | undefined
      if (origin === undefined || origin === '') refused = 'preflight without Origin'
      else if (!originAllowed(origin)) refused = 'preflight from an origin that is not allowed'
      else if (!methodAllowed(method)) refused = `preflight for method ${method}, which is not allowed`
      else if (!anyHeader && !requested.every((h) => headers.has(h.toLowerCase()))) refused = `preflight for headers ${requested.join(', ')}, not all allowed`
      if (refused === undefined) {
        out['access-control-allow-origin'] = allowOrigin(origin!)
        // The spec allows answering with just the method and headers asked for.
        out['access-control-allow-methods'] = method
        if (requested.length > 0) out['access-control-allow-headers'] = requested.join(', ')
        if (credentials) out['access-control-allow-credentials'] = 'true'
        if (maxAge !== '') out['access-control-max-age'] = maxAge
      } else debug?.(origin, refused)
      res.writeHead(204, out)
      res.end()
    },

    actualHeaders(req) {
      // rs/cors adds nothing to an OPTIONS request that is not a preflight.
      if (req.method === 'OPTIONS') return NONE
      const origin = req.headers.origin
      if (origin === undefined || origin === '') return VARY_ONLY
      if (!originAllowed(origin)) {
        debug?.(origin, 'request from an origin that is not allowed: no CORS headers')
        return VARY_ONLY
      }
      if (!methodAllowed(req.method ?? 'GET')) {
        debug?.(origin, `request with method ${req.method}, which is not allowed: no CORS headers`)
        return VARY_ONLY
      }
      const out = ['vary', 'Origin', 'access-control-allow-origin', allowOrigin(origin)]
      if (exposed !== '') out.push('access-control-expose-headers', exposed)
      if (credentials) out.push('access-control-allow-credentials', 'true')
      return out
    },
  }
}

/** Sets a flat header list on a response not yet written (for answers given with an object of headers). */
export function setHeaderList(res: ServerResponse, list: readonly string[]): void {
  for (let i = 0; i < list.length; i += 2) res.setHeader(list[i]!, list[i + 1]!)
}

/** The names in Access-Control-Request-Headers ("a, b" or repeated headers). */
function headerList(v: string | string[] | undefined): string[] {
  if (v === undefined) return []
  const joined = typeof v === 'string' ? v : v.join(',')
  return joined
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** Go's http.CanonicalHeaderKey, which rs/cors applies to exposed headers: x-request-id → X-Request-Id. */
function canonicalHeaderName(name: string): string {
  return name
    .toLowerCase()
    .split('-')
    .map((p) => (p === '' ? p : p[0]!.toUpperCase() + p.slice(1)))
    .join('-')
}
