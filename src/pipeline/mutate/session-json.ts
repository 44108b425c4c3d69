/**
 * The AuthenticationSession as Oathkeeper serialises it (Go's encoding/json of its structs), for
 * services that receive it (the hydrator API): field names, canonical header names with value
 * lists, and Go's url.URL field layout, so existing hydrator services parse it unchanged.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { AuthenticationSession, PipelineRequest } from '../session.js'

/** Go's textproto.CanonicalMIMEHeaderKey: `x-user-id` → `X-User-Id`; names with odd bytes unchanged. */
export function canonicalHeader(name: string): string {
  if (!/^[A-Za-z0-9-]+$/.test(name)) return name
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())
}

/** Go's url.URL as JSON (exported fields, in declaration order). */
function goUrl(url: URL): Record<string, unknown> {
  let path = url.pathname
  try {
    path = decodeURIComponent(url.pathname)
  } catch {
    // A malformed escape stays as written; Go would have refused the URL earlier.
  }
  // RawPath is set only when the path's escaping is not the default one (e.g. an encoded slash).
  const rawPath = path !== url.pathname && encodeURI(path) !== url.pathname ? url.pathname : ''
  return {
    Scheme: url.protocol.slice(0, -1),
    Opaque: '',
    User: null,
    Host: url.host,
    Path: path,
    RawPath: rawPath,
    OmitHost: false,
    ForceQuery: false,
    RawQuery: url.search.slice(1),
    Fragment: '',
    RawFragment: '',
  }
}

function headerLists(headers: IncomingHttpHeaders): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [name, v] of Object.entries(headers)) {
    if (v === undefined) continue
    // Go keeps Host out of Header (it is Request.Host).
    if (name === 'host') continue
    const key = canonicalHeader(name)
    ;(out[key] ??= []).push(...(Array.isArray(v) ? v : [v]))
  }
  return out
}

/** `{"subject","extra","header","match_context":{"regexp_capture_groups","url","method","header"}}`. */
export function sessionJson(session: AuthenticationSession, req: PipelineRequest): string {
  const header: Record<string, string[]> = {}
  for (const [name, value] of Object.entries(session.Header)) (header[canonicalHeader(name)] ??= []).push(value)
  return JSON.stringify({
    subject: session.Subject,
    extra: session.Extra,
    header,
    match_context: {
      regexp_capture_groups: session.MatchContext.RegexpCaptureGroups,
      url: goUrl(session.MatchContext.URL),
      method: session.MatchContext.Method,
      header: headerLists(req.headers),
    },
  })
}

/** The parts of a session a hydrator answer may replace. */
export interface HydratedSession {
  readonly Subject: string
  readonly Extra: Record<string, unknown>
  readonly Header: Record<string, string>
}

/**
 * Reads a hydrator answer (the same JSON shape). Returns a problem description instead when it
 * is not one: a non-object, a non-string subject, a non-object extra, or a header that is not a
 * map of string lists (a plain string value is accepted too). Lists are joined with ", ".
 */
export function parseHydrated(text: string): HydratedSession | string {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return 'the answer is not JSON'
  }
  if (!isObject(doc)) return 'the answer is not a JSON object'
  const subject = doc.subject ?? ''
  if (typeof subject !== 'string') return 'subject is not a string'
  const extra = doc.extra ?? {}
  if (!isObject(extra)) return 'extra is not an object'
  const header: Record<string, string> = {}
  const h = doc.header ?? {}
  if (!isObject(h)) return 'header is not an object'
  for (const [name, v] of Object.entries(h)) {
    const values = typeof v === 'string' ? [v] : v
    if (!Array.isArray(values) || values.some((x) => typeof x !== 'string')) return `header "${name}" is not a list of strings`
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return `header "${name}" is not a valid header name`
    const joined = values.join(', ')
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(joined)) return `header "${name}" contains a control character`
    header[name] = joined
  }
  return { Subject: subject, Extra: extra, Header: header }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
