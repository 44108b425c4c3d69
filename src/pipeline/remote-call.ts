/**
 * Calls handlers make to other services (session stores, remote authorizers, token endpoints,
 * hydrators): through the gateway's one keep-alive Agent, bounded in time and in answer size,
 * optionally retried. Every failure becomes a GatehouseError, so no handler ever lets a request
 * through because a call went wrong (fail closed).
 */
import type { IncomingHttpHeaders } from 'node:http'
import { request, type Dispatcher } from 'undici'
import { parseDuration } from '../config/duration.js'
import { ConfigError, GatehouseError, type ErrorCode } from '../errors.js'
import { withTraceHeaders, type TraceContext } from '../observability/trace-context.js'

/** Oathkeeper's `retry` block (`retry`, `api.retry`). */
export interface RetryConfig {
  /** Total time budget of the call, all attempts and waits included (Go duration, e.g. "1s"). */
  readonly give_up_after?: string
  /** Longest wait between two attempts (Go duration, e.g. "100ms"). */
  readonly max_delay?: string
}

/** JSON schema of a `retry` block. */
export const retrySchema: Readonly<Record<string, unknown>> = {
  type: 'object',
  additionalProperties: false,
  properties: { give_up_after: { type: 'string' }, max_delay: { type: 'string' } },
}

/** How one handler calls out, fixed at rule load. */
export interface CallPolicy {
  /** Deadline of the whole call. */
  readonly budgetMs: number
  /** Longest wait between attempts; 0 = a single attempt. */
  readonly maxDelayMs: number
}

/** Without a retry block: one attempt, bounded so a hung service cannot hold requests forever. */
export const SINGLE_ATTEMPT: CallPolicy = Object.freeze({ budgetMs: 10_000, maxDelayMs: 0 })

/**
 * The policy of a `retry` block, `defaults` filling what it leaves out. Bad durations are a
 * ConfigError naming `where` (e.g. "retry.max_delay").
 */
export function compileRetry(retry: RetryConfig | undefined, defaults: Required<RetryConfig>, where: string): CallPolicy {
  const ms = (v: string | undefined, fallback: string, key: string): number => {
    try {
      return parseDuration(v ?? fallback)
    } catch (err) {
      throw new ConfigError(`${where}.${key}: ${(err as Error).message}`)
    }
  }
  const budgetMs = ms(retry?.give_up_after, defaults.give_up_after, 'give_up_after')
  if (budgetMs <= 0) throw new ConfigError(`${where}.give_up_after must be longer than 0`)
  return { budgetMs, maxDelayMs: ms(retry?.max_delay, defaults.max_delay, 'max_delay') }
}

export interface RemoteRequest {
  readonly method: string
  readonly headers: Record<string, string | string[]>
  readonly body?: Buffer | string
  /** Read the answer's body (up to maxBytes); otherwise it is discarded. */
  readonly readBody: boolean
  /** Default 1 MiB. A bigger answer fails the call (GATEHOUSE_ERR_INTERNAL). */
  readonly maxBytes?: number
  /** The trace of the request the call is made for (`req.trace`): its traceparent/tracestate are sent. */
  readonly trace?: TraceContext | undefined
}

export interface RemoteAnswer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** Empty unless readBody. */
  readonly body: Buffer
}

/** What the caller is and how its failure to connect is reported. */
export interface CallContext {
  readonly http: Dispatcher
  readonly policy: CallPolicy
  /** Code thrown when the service cannot be reached or does not answer in time. */
  readonly unreachable: ErrorCode
  /** Names the call in reasons, e.g. "cookie_session check_session_url". */
  readonly what: string
}

const MIB = 1024 * 1024
/** First wait between attempts; doubled each time up to maxDelayMs. */
const FIRST_DELAY_MS = 50

/**
 * Performs the call. With retries, connection failures and 5xx answers other than 501 (as
 * go-retryablehttp, which Oathkeeper uses) are tried again while the budget lasts; the last
 * answer is returned, the last failure thrown.
 */
export async function callRemote(ctx: CallContext, url: string, req: RemoteRequest): Promise<RemoteAnswer> {
  const deadline = Date.now() + ctx.policy.budgetMs
  let delay = FIRST_DELAY_MS
  for (;;) {
    let answer: RemoteAnswer | undefined
    let failure: unknown
    try {
      answer = await attempt(ctx, url, req, deadline - Date.now())
    } catch (err) {
      if (err instanceof GatehouseError) throw err // oversized answer: retrying will not shrink it
      failure = err
    }
    const retryable = answer === undefined || (answer.status >= 500 && answer.status !== 501)
    const wait = Math.min(delay, ctx.policy.maxDelayMs)
    if (!retryable || ctx.policy.maxDelayMs <= 0 || Date.now() + wait >= deadline) {
      if (answer !== undefined) return answer
      throw unreachable(ctx, failure)
    }
    await new Promise((r) => setTimeout(r, wait))
    delay *= 2
  }
}

async function attempt(ctx: CallContext, url: string, req: RemoteRequest, remainingMs: number): Promise<RemoteAnswer> {
  if (remainingMs <= 0) throw Object.assign(new Error('gave up: no time left'), { code: 'ETIMEDOUT' })
  // One signal bounds connecting, waiting for headers and reading the body alike.
  const signal = AbortSignal.timeout(remainingMs)
  const res = await request(url, {
    dispatcher: ctx.http,
    method: req.method as Dispatcher.HttpMethod,
    headers: withTraceHeaders(req.headers, req.trace),
    body: req.body ?? null,
    signal,
  })
  if (!req.readBody) {
    // Drain rather than destroy, so the keep-alive connection goes back to the pool (a large
    // unwanted body closes the connection instead).
    await res.body.dump({ limit: 128 * 1024, signal })
    return { status: res.statusCode, headers: res.headers, body: EMPTY }
  }
  const max = req.maxBytes ?? MIB
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length
    if (size > max) {
      res.body.destroy()
      throw new GatehouseError('GATEHOUSE_ERR_INTERNAL', { reason: `${ctx.what}: the answer is larger than ${max} bytes` })
    }
    chunks.push(chunk as Buffer)
  }
  return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks, size) }
}

const EMPTY = Buffer.alloc(0)

function unreachable(ctx: CallContext, err: unknown): GatehouseError {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : ''
  const name = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError') ? 'timed out' : ''
  const message = err instanceof Error ? err.message : String(err)
  const detail = name || (code ? `${code}: ${message}` : message)
  return new GatehouseError(ctx.unreachable, { reason: `${ctx.what} could not be reached: ${detail}`, cause: err })
}

/**
 * Rate-limit headers of a 429 answer passed on to the client (as Oathkeeper does): Retry-After
 * and the X-RateLimit-* family.
 */
const RATE_LIMIT_HEADERS = ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-type']

/** A 429 carrying the remote's rate-limit headers. */
export function tooManyRequests(answer: RemoteAnswer, what: string): GatehouseError {
  const headers: Record<string, string> = {}
  for (const name of RATE_LIMIT_HEADERS) {
    const v = first(answer.headers[name])
    if (v !== undefined && v !== '') headers[name] = v
  }
  return new GatehouseError('GATEHOUSE_ERR_TOO_MANY_REQUESTS', { reason: `${what} answered 429`, headers })
}

export function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

/** A URL from the config, checked at load: http(s) only, named in the error. */
export function configUrl(value: string, where: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`${where}: "${value}" is not a valid URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${where}: "${value}" must be an http or https URL`)
  return url
}

/** RFC 7230 token: what a header name may be. */
export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/**
 * What a header value cannot carry: control characters (CR/LF would split the header) and
 * characters above U+00FF, which the HTTP client refuses (it writes values as latin1, where
 * U+010A would become a LF). Allowed: HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5).
 */
export const BAD_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/

/** A character BAD_HEADER_VALUE found, for reasons: `a control character (0x0a)`, `the character U+010A`. */
export function describeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0
  return code < 0x20 || code === 0x7f ? `a control character (0x${code.toString(16).padStart(2, '0')})` : `the character U+${code.toString(16).toUpperCase().padStart(4, '0')}`
}

/**
 * Sets a session header, replacing any spelling of the same name, so that upstream never gets
 * two copies (`X-User` from one handler, `x-user` from another).
 */
export function setSessionHeader(header: Record<string, string>, name: string, value: string): void {
  const lower = name.toLowerCase()
  for (const k of Object.keys(header)) if (k !== name && k.toLowerCase() === lower) delete header[k]
  header[name] = value
}
