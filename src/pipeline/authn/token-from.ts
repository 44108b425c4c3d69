import type { PipelineRequest } from '../session.js'

/**
 * Oathkeeper's `token_from`: where a bearer token is read. At most one of the three; without
 * it, `Authorization: Bearer <token>` (scheme case-insensitive). A named header other than
 * Authorization yields its whole value; Authorization always has its scheme stripped.
 */
export interface TokenFrom {
  readonly header?: string
  readonly query_parameter?: string
  readonly cookie?: string
}

/** The JSON schema of `token_from`, for handler schemas. */
export const tokenFromSchema: Readonly<Record<string, unknown>> = {
  type: 'object',
  additionalProperties: false,
  maxProperties: 1,
  properties: {
    header: { type: 'string', minLength: 1 },
    query_parameter: { type: 'string', minLength: 1 },
    cookie: { type: 'string', minLength: 1 },
  },
}

/** Reads the token; '' when there is none (the authenticator is then not responsible). */
export type TokenReader = (req: PipelineRequest) => string

/** Compiled at rule load: the request path only runs the returned reader. */
export function compileTokenFrom(from: TokenFrom | undefined): TokenReader {
  if (from?.header !== undefined && from.header.toLowerCase() !== 'authorization') {
    const name = from.header.toLowerCase()
    return (req) => first(req.headers[name])
  }
  if (from?.query_parameter !== undefined) {
    const name = from.query_parameter
    return (req) => req.url.searchParams.get(name) ?? ''
  }
  if (from?.cookie !== undefined) {
    const name = from.cookie
    return (req) => cookieValue(first(req.headers.cookie), name)
  }
  return (req) => bearer(first(req.headers.authorization))
}

function first(v: string | string[] | undefined): string {
  if (v === undefined) return ''
  return Array.isArray(v) ? (v[0] ?? '') : v
}

/** `Bearer <token>` → token; anything else → ''. Splits at the first space, as Go's SplitN(…, 2). */
function bearer(header: string): string {
  // The usual spelling first: no lower-cased copy of the scheme per request.
  if (header.startsWith('Bearer ')) return header.slice(7)
  const space = header.indexOf(' ')
  if (space === -1 || header.slice(0, space).toLowerCase() !== 'bearer') return ''
  return header.slice(space + 1)
}

/** The first cookie called `name` in a Cookie header (RFC 6265 §5.4), '' when absent. */
export function cookieValue(header: string, name: string): string {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    if (part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim()
      // A quoted cookie value (RFC 6265 allows DQUOTE *cookie-octet DQUOTE) is read without its quotes, as Go does.
      return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v
    }
  }
  return ''
}
