import { Agent, request, type Dispatcher } from 'undici'
import { ApiError, CliError, UnreachableError } from './errors.js'

/** Which of the token server's two APIs a verb talks to. */
export type Api = 'admin' | 'public'

/** Where each API listens when neither `--endpoint` nor `ORY_SDK_URL` says otherwise. */
export const DEFAULT_ENDPOINTS: Readonly<Record<Api, string>> = {
  admin: 'http://127.0.0.1:4445/',
  public: 'http://127.0.0.1:4444/',
}

/** Hydra's CLI gives up after 10 s; a CLI user would rather see an error than wait longer. */
const TIMEOUT_MS = 10_000

/**
 * The base URL of an API: `--endpoint`, else `ORY_SDK_URL` (commander fills the flag from it),
 * else the default port. Always ends in '/', so a path prefix such as `https://host/hydra`
 * is kept when paths are resolved against it.
 */
export function resolveEndpoint(endpoint: string | undefined, api: Api): URL {
  const raw = endpoint === undefined || endpoint.trim() === '' ? DEFAULT_ENDPOINTS[api] : endpoint.trim()
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new CliError(`--endpoint "${raw}" is not a URL; expected e.g. ${DEFAULT_ENDPOINTS[api]}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`--endpoint "${raw}" must be an http:// or https:// URL`)
  }
  url.search = ''
  url.hash = ''
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  return url
}

/** Where requests go and what each carries: the endpoint plus `-H` headers and `--skip-tls-verify`. */
export interface Target {
  readonly base: URL
  readonly headers: Readonly<Record<string, string>>
  /** Set only with --skip-tls-verify; otherwise undici's default, verifying agent. */
  readonly dispatcher?: Dispatcher
}

/** The flags `target()` reads. */
export interface TargetOptions {
  readonly endpoint?: string | undefined
  readonly httpHeader?: readonly string[] | undefined
  readonly skipTlsVerify?: boolean | undefined
}

/** The target of a verb from its common flags. */
export function target(opts: TargetOptions, api: Api): Target {
  const base = resolveEndpoint(opts.endpoint, api)
  const headers = parseHeaders(opts.httpHeader ?? [])
  if (opts.skipTlsVerify !== true) return { base, headers }
  return { base, headers, dispatcher: new Agent({ connect: { rejectUnauthorized: false } }) }
}

/**
 * `-H 'Name: value'` as cmdx reads it, except that only the first ':' separates name and value,
 * so values such as URLs survive (Hydra's CLI rejects a value containing ':').
 */
export function parseHeaders(raw: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const h of raw) {
    const i = h.indexOf(':')
    const name = i < 0 ? '' : h.slice(0, i).trim()
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new CliError(`--http-header "${h}" is not "Name: value", e.g. -H 'Authorization: Bearer some-token'`)
    }
    const key = name.toLowerCase()
    const value = h.slice(i + 1).trim()
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`
  }
  return headers
}

/** One call to the token server. */
export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Relative to the endpoint, e.g. `admin/clients`. */
  readonly path: string
  readonly query?: Readonly<Record<string, string | undefined>>
  readonly json?: unknown
  /** Form fields; undefined and empty values are left out. */
  readonly form?: Readonly<Record<string, string | undefined>>
  /** client_secret_basic credentials. */
  readonly basic?: { readonly id: string; readonly secret: string }
  /** For error messages: what the command was doing, e.g. `could not create the OAuth 2.0 client`. */
  readonly what: string
}

/** A 2xx answer, read to the end. */
export interface ApiResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  /** Parsed JSON; the text when the body is not JSON; undefined when empty. */
  readonly body: unknown
}

/**
 * Sends one request and reads the whole answer.
 * @throws ApiError on a non-2xx status, UnreachableError when no answer came.
 */
export async function callApi(to: Target, req: ApiRequest): Promise<ApiResponse> {
  const base = to.base
  const url = new URL(req.path.replace(/^\/+/, ''), base)
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, v)
  // -H headers first, so they can add to but not break the request's own content type and auth.
  const headers: Record<string, string> = { accept: 'application/json', ...to.headers }
  let body: string | undefined
  if (req.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(req.json)
  } else if (req.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    const form = new URLSearchParams()
    for (const [k, v] of Object.entries(req.form)) if (v !== undefined && v !== '') form.set(k, v)
    body = form.toString()
  }
  if (req.basic !== undefined) headers.authorization = basicAuth(req.basic.id, req.basic.secret)

  let res
  try {
    res = await request(url, {
      method: req.method,
      headers,
      body,
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
      ...(to.dispatcher === undefined ? {} : { dispatcher: to.dispatcher }),
    })
  } catch (err) {
    throw new UnreachableError(base.href, reasonOf(err))
  }
  const text = await res.body.text()
  const parsed = parseBody(text)
  if (res.statusCode < 200 || res.statusCode > 299) throw new ApiError(req.what, res.statusCode, parsed)
  return { status: res.statusCode, headers: res.headers, body: parsed }
}

/**
 * `Basic base64(urlencode(id) ":" urlencode(secret))`: RFC 6749 §2.3.1 wants both parts
 * form-URL-encoded first, so ids or secrets with ':' or non-ASCII characters survive.
 */
export function basicAuth(id: string, secret: string): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`
}

function parseBody(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** A short reason for a failed connection: the system error code where there is one. */
function reasonOf(err: unknown): string {
  // Several addresses tried (e.g. ::1 and 127.0.0.1) arrive as an AggregateError; the first says enough.
  const e = err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err
  if (typeof e === 'object' && e !== null) {
    const code = (e as { code?: unknown }).code
    const cause = (e as { cause?: { code?: unknown } }).cause
    if (typeof code === 'string' && !code.startsWith('UND_ERR_')) return code
    if (typeof cause?.code === 'string') return cause.code
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timed out'
    if (e instanceof Error && e.message !== '') return e.message
  }
  return String(e)
}
