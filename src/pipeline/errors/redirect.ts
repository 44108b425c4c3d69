import { ConfigError } from '../../errors.js'
import type { PipelineRequest } from '../session.js'
import type { ErrorHandlerDef } from '../types.js'

/** Config of the `redirect` error handler (Oathkeeper's keys; `when` is compiled separately). */
export interface RedirectErrorConfig {
  /** Where to send the client: an absolute http(s) URL or a relative one such as "/login". */
  readonly to: string
  /** 301 (Moved Permanently) or 302 (Found). Default 302. */
  readonly code?: 301 | 302
  /**
   * When set, the URL the client asked for is added to `to` under this query parameter, e.g.
   * `return_to` → `/login?return_to=https%3A%2F%2Fapp.test%2Forders`. Default "" (not added).
   */
  readonly return_to_query_param?: string
}

/** Stand-in base for relative targets; it never appears in a Location header. */
const RELATIVE_BASE = 'http://relative.invalid'

/**
 * `redirect`: answers with a 301/302 to `to`, as Oathkeeper does (Go's http.Redirect: a short
 * HTML body for GET and HEAD, none for other methods). The return URL is the request URL the
 * rule matched, with X-Forwarded-Host's host when there is one: built from X-Forwarded-* in the
 * decision API, and in the proxy only when `serve.proxy.trust_forwarded_headers`.
 */
export const redirect = {
  id: 'redirect',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['to'],
    properties: {
      to: { type: 'string', minLength: 1 },
      code: { type: 'integer', enum: [301, 302], default: 302 },
      return_to_query_param: { type: 'string', pattern: '^[A-Za-z0-9,._~-]*$', default: '' },
    },
  },
  create(config) {
    const code = config.code ?? 302
    const param = config.return_to_query_param ?? ''
    let target: URL
    try {
      target = new URL(config.to, RELATIVE_BASE)
    } catch {
      throw new ConfigError(`to: "${config.to}" is not a valid URL`)
    }
    const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:/.test(config.to)
    if (absolute && target.protocol !== 'http:' && target.protocol !== 'https:') {
      throw new ConfigError(`to: "${config.to}" must be an http(s) URL or a relative one`)
    }
    const networkPath = !absolute && config.to.startsWith('//')
    const render = (u: URL): string =>
      absolute ? u.href : `${networkPath ? `//${u.host}` : ''}${u.pathname}${u.search}${u.hash}`
    // Without return_to the Location never changes: computed once.
    const fixed = param === '' ? render(target) : undefined
    const status = code === 301 ? 'Moved Permanently' : 'Found'

    return (_err, req) => {
      let location = fixed
      if (location === undefined) {
        const u = new URL(target)
        const back = requestedUrl(req)
        if (back !== undefined) u.searchParams.set(param, back)
        // Go's Values.Encode sorts by key.
        u.searchParams.sort()
        location = render(u)
      }
      const headers: Record<string, string> = { location }
      let body = ''
      if (req.method === 'GET' || req.method === 'HEAD') {
        headers['content-type'] = 'text/html; charset=utf-8'
        body = `<a href="${escapeHtml(location)}">${status}</a>.\n\n`
      }
      return { status: code, headers, body }
    }
  },
} satisfies ErrorHandlerDef<RedirectErrorConfig>

/**
 * The URL to come back to; undefined for a request too malformed to have one (e.g. no Host).
 * The host is X-Forwarded-Host when the request carries one, as Oathkeeper's: the proxy matches
 * the Host header, but the client called the host the balancer in front was asked for. (The
 * proxy drops untrusted X-Forwarded-* before the pipeline, so only a trusted one is seen.)
 */
function requestedUrl(req: PipelineRequest): string | undefined {
  try {
    const forwarded = req.headers['x-forwarded-host']
    const host = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim()
    if (host === undefined || host === '') return req.url.href
    const u = new URL(req.url.href)
    // The URL setter ignores a value that is no host, leaving the matched one.
    u.host = host
    return u.href
  } catch {
    return undefined
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
