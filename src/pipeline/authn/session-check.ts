/**
 * What `bearer_token` and `cookie_session` share: asking a session endpoint
 * (`check_session_url`) whether the request's credentials are good, and reading subject and
 * extra out of its answer, as Oathkeeper does.
 */
import { ConfigError, GatehouseError } from '../../errors.js'
import { callRemote, configUrl, first, SINGLE_ATTEMPT, tooManyRequests, type CallContext } from '../remote-call.js'
import type { AuthenticationSession, PipelineRequest } from '../session.js'
import type { HandlerDeps } from '../types.js'
import { compileJsonPath } from './json-path.js'

/** The config keys of Oathkeeper's session-checking authenticators. */
export interface SessionCheckConfig {
  /**
   * The session endpoint. A 200 answer authenticates; its JSON body gives subject and extra.
   * 429 is passed on with its Retry-After; any other status is 401.
   */
  readonly check_session_url: string
  /** Keep check_session_url's path instead of sending the request's path. Default false. */
  readonly preserve_path?: boolean
  /** Keep check_session_url's query instead of sending the request's query. Default true. */
  readonly preserve_query?: boolean
  /** Send the requested host as X-Forwarded-Host. Default false. */
  readonly preserve_host?: boolean
  /** The method of the check; default: the request's method. */
  readonly force_method?: string
  /**
   * Request headers copied to the check (case-insensitive). Authorization (bearer_token) or
   * Cookie (cookie_session) is always copied; no other header is unless listed.
   */
  readonly forward_http_headers?: readonly string[]
  /** Headers set on the check, replacing copied ones of the same name. */
  readonly additional_headers?: Readonly<Record<string, string>>
  /** GJSON path (see json-path.ts for the subset) of the subject in the answer. */
  readonly subject_from?: string
  /** GJSON path of the extra object in the answer. Default "extra"; "@this" takes the whole answer. */
  readonly extra_from?: string
}

/** Schema properties of SessionCheckConfig; subject_from's default differs per handler, as in Oathkeeper. */
export function sessionCheckProperties(subjectDefault: string): Record<string, unknown> {
  return {
    check_session_url: { type: 'string', minLength: 1 },
    preserve_path: { type: 'boolean', default: false },
    preserve_query: { type: 'boolean', default: true },
    preserve_host: { type: 'boolean', default: false },
    force_method: { type: 'string', pattern: '^[A-Za-z]*$' },
    forward_http_headers: { type: 'array', items: { type: 'string', minLength: 1 } },
    additional_headers: { type: 'object', additionalProperties: { type: 'string' } },
    subject_from: { type: 'string', default: subjectDefault },
    extra_from: { type: 'string', default: 'extra' },
  }
}

/** Connection-level headers never copied to the check: they describe our hop, not the request. */
const NOT_COPIED: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect'])

/** A session answer bigger than this is refused (a session is a few KiB at most). */
const MAX_SESSION_BYTES = 1024 * 1024

/**
 * Compiles the check for one rule. `always` is the header always copied ('authorization' or
 * 'cookie'); `id` names the handler in reasons. The returned function authenticates or throws.
 */
export function compileSessionCheck(
  config: SessionCheckConfig,
  always: string,
  id: string,
  deps: HandlerDeps,
): (req: PipelineRequest, session: AuthenticationSession) => Promise<true> {
  const base = configUrl(config.check_session_url, 'check_session_url')
  // Go's r.URL.String() keeps userinfo; undici would refuse it in the URL, so it is not supported.
  if (base.username !== '' || base.password !== '') {
    throw new ConfigError('check_session_url: credentials in the URL are not supported; use additional_headers (e.g. Authorization)')
  }
  const origin = `${base.protocol}//${base.host}`
  const keepPath = config.preserve_path === true
  const keepQuery = config.preserve_query !== false
  const fixedUrl = keepPath && keepQuery ? base.href : undefined

  const copied = new Set([always, ...(config.forward_http_headers ?? []).map((h) => h.toLowerCase())])
  for (const n of NOT_COPIED) copied.delete(n)
  const extra = Object.entries(config.additional_headers ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const)
  const method = config.force_method ? config.force_method.toUpperCase() : undefined
  const subjectFrom = compileJsonPath(config.subject_from ?? 'subject', 'subject_from')
  const extraFrom = compileJsonPath(config.extra_from ?? 'extra', 'extra_from')
  const what = `${id} check_session_url`
  const ctx: CallContext = { http: deps.http, policy: SINGLE_ATTEMPT, unreachable: 'GATEHOUSE_ERR_UNAVAILABLE', what }

  return async (req, session) => {
    const url = fixedUrl ?? `${origin}${keepPath ? base.pathname : req.url.pathname}${keepQuery ? base.search : req.url.search}`
    const headers: Record<string, string | string[]> = {}
    for (const name of copied) {
      const v = req.headers[name]
      if (v !== undefined) headers[name] = v
    }
    for (const [k, v] of extra) headers[k] = v
    if (config.preserve_host === true) headers['x-forwarded-host'] = req.url.host

    const answer = await callRemote(ctx, url, { method: method ?? req.method, headers, readBody: true, maxBytes: MAX_SESSION_BYTES, trace: req.trace })
    if (answer.status === 429) throw tooManyRequests(answer, what)
    if (answer.status !== 200) throw new GatehouseError('GATEHOUSE_ERR_UNAUTHORIZED', { reason: `${what} answered ${answer.status}` })

    const doc = parseSession(answer.body, what, first(answer.headers['content-type']))
    const subject = subjectFrom(doc)
    const extraValue = extraFrom(doc)
    if (subject !== undefined && subject !== null && typeof subject !== 'string') {
      throw new GatehouseError('GATEHOUSE_ERR_FORBIDDEN', { reason: `${id}: subject_from "${config.subject_from}" is a ${kind(subject)}, not a string` })
    }
    if (extraValue !== undefined && extraValue !== null && kind(extraValue) !== 'object') {
      throw new GatehouseError('GATEHOUSE_ERR_FORBIDDEN', { reason: `${id}: extra_from "${config.extra_from}" is a ${kind(extraValue)}, not an object` })
    }
    session.Subject = subject ?? ''
    session.Extra = (extraValue as Record<string, unknown> | null | undefined) ?? {}
    return true
  }
}

/**
 * The answer as JSON. An empty body (a HEAD check, a bare 200) reads as null, so subject and
 * extra come out empty, as in Oathkeeper. A body that is not JSON fails closed (500): Oathkeeper
 * would read an empty subject out of it and let the request through.
 */
function parseSession(body: Buffer, what: string, contentType: string | undefined): unknown {
  if (body.length === 0) return null
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    throw new GatehouseError('GATEHOUSE_ERR_INTERNAL', {
      reason: `${what} answered 200 with a body that is not JSON (content-type ${contentType ?? 'none'})`,
    })
  }
}

function kind(v: unknown): string {
  if (Array.isArray(v)) return 'array'
  return v === null ? 'null' : typeof v
}
