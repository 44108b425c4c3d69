import { setTimeout as sleep } from 'node:timers/promises'
import { request, type Dispatcher } from 'undici'
import { GatehouseError } from '../../../errors.js'
import type { TraceContext } from '../../../observability/trace-context.js'
import { parseAnswer, type IntrospectionAnswer } from './answer.js'
import { discard, InvalidBody, readJson } from './http.js'
import type { ClientCredentialsToken } from './pre-authorization.js'

/** Everything about calling one rule's introspection endpoint, prepared at rule load. */
export interface IntrospectionEndpoint {
  readonly url: string
  readonly http: Dispatcher
  /** `introspection_request_headers` with lower-case names, plus the Content-Type. */
  readonly headers: Readonly<Record<string, string>>
  /** The `scope` form parameter (Oathkeeper sends it only with scope_strategy `none`). */
  readonly scopeParam: string | undefined
  /** Total time for all attempts (`retry.give_up_after`). */
  readonly giveUpAfterMs: number
  /** Longest wait between two attempts (`retry.max_delay`). */
  readonly maxDelayMs: number
  readonly preAuthorization: ClientCredentialsToken | undefined
}

/** First wait between attempts; doubled per attempt up to `maxDelayMs`. */
const FIRST_DELAY_MS = 25
/** Floor of the backoff delay whatever `max_delay` says (the jittered wait is half to all of it), so a down endpoint is not hammered. */
const MIN_DELAY_MS = 10

/** An attempt's outcome that may succeed when tried again (transport error, 5xx). */
class Transient extends Error {}

/** The endpoint refused our pre-authorization token. */
class Unauthorized extends Error {}

/**
 * Introspects `token` (RFC 7662: POST form `token=…`). Transport errors and 5xx answers are
 * retried with exponential backoff (jittered, capped at `maxDelayMs`) until `giveUpAfterMs` has
 * passed since the first attempt; each attempt's timeout is the time left, so the whole call is
 * bounded by `giveUpAfterMs`. Every failure is fail-closed: GATEHOUSE_ERR_UNAVAILABLE (503),
 * except 429, passed on as GATEHOUSE_ERR_TOO_MANY_REQUESTS with its Retry-After (as Oathkeeper).
 * @param forwardedHost the original Host, sent as X-Forwarded-Host (`preserve_host`).
 * @param trace the trace of the request that needs the answer; its traceparent/tracestate are sent
 *   (requests coalesced onto this call share it, and the first one's trace is the one sent).
 */
export async function introspect(
  ep: IntrospectionEndpoint,
  token: string,
  forwardedHost: string | undefined,
  trace?: TraceContext,
): Promise<IntrospectionAnswer> {
  const deadline = Date.now() + ep.giveUpAfterMs
  const form = new URLSearchParams({ token })
  if (ep.scopeParam !== undefined) form.set('scope', ep.scopeParam)
  const body = form.toString()
  let delay = Math.max(Math.min(FIRST_DELAY_MS, ep.maxDelayMs), MIN_DELAY_MS)
  let reauthorized = false
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptOnce(ep, body, forwardedHost, deadline, trace)
    } catch (err) {
      if (err instanceof Unauthorized) {
        // The pre-authorization token was refused (revoked, keys rotated): get a new one, once.
        if (reauthorized) throw unavailable(err.message)
        reauthorized = true
        continue
      }
      if (!(err instanceof Transient)) throw err
      const wait = delay / 2 + Math.random() * (delay / 2)
      if (Date.now() + wait >= deadline) {
        throw unavailable(`introspection failed after ${attempt} attempt(s) within ${ep.giveUpAfterMs}ms: ${err.message}`, err.cause)
      }
      await sleep(wait)
      delay = Math.max(Math.min(delay * 2, ep.maxDelayMs), MIN_DELAY_MS)
    }
  }
}

async function attemptOnce(
  ep: IntrospectionEndpoint,
  body: string,
  forwardedHost: string | undefined,
  deadline: number,
  trace: TraceContext | undefined,
): Promise<IntrospectionAnswer> {
  const headers: Record<string, string> = { ...ep.headers }
  if (forwardedHost !== undefined) headers['x-forwarded-host'] = forwardedHost
  // ep.headers have lower-case names (compileHeaders), so plain assignment replaces a configured one.
  if (trace !== undefined) {
    headers.traceparent = trace.traceparent
    if (trace.tracestate !== '') headers.tracestate = trace.tracestate
  }
  let bearer: string | undefined
  if (ep.preAuthorization !== undefined) {
    try {
      const t = ep.preAuthorization.get(Math.max(deadline - Date.now(), 1))
      bearer = typeof t === 'string' ? t : await t
    } catch (err) {
      throw unavailable(`pre_authorization: could not get a token: ${(err as Error).message}`, err)
    }
    headers.authorization = `Bearer ${bearer}`
  }
  let res: Dispatcher.ResponseData
  try {
    res = await request(ep.url, {
      method: 'POST',
      dispatcher: ep.http,
      headers,
      body,
      signal: AbortSignal.timeout(Math.max(deadline - Date.now(), 1)),
    })
  } catch (err) {
    throw new Transient(`the endpoint could not be reached (${(err as Error).message})`, { cause: err })
  }
  const status = res.statusCode
  if (status === 200) {
    let parsed: unknown
    try {
      parsed = await readJson(res.body)
    } catch (err) {
      // A body cut off by the timeout or the connection is transient; a malformed one is not.
      if (err instanceof InvalidBody) throw unavailable(`invalid introspection response: ${err.message}`, err)
      throw new Transient(`reading the response failed (${(err as Error).message})`, { cause: err })
    }
    try {
      return parseAnswer(parsed)
    } catch (err) {
      throw unavailable(`invalid introspection response: ${(err as Error).message}`, err)
    }
  }
  await discard(res.body)
  if (status === 401 && bearer !== undefined) {
    ep.preAuthorization!.invalidate(bearer)
    throw new Unauthorized('the introspection endpoint refused the pre-authorization token')
  }
  if (status === 429) {
    const retryAfter = res.headers['retry-after']
    throw new GatehouseError('GATEHOUSE_ERR_TOO_MANY_REQUESTS', {
      reason: 'the introspection endpoint answered 429',
      ...(typeof retryAfter === 'string' ? { headers: { 'Retry-After': retryAfter } } : {}),
    })
  }
  if (status >= 500) throw new Transient(`the endpoint answered ${status}`)
  throw unavailable(`introspection returned status code ${status} but expected 200`)
}

function unavailable(reason: string, cause?: unknown): GatehouseError {
  return new GatehouseError('GATEHOUSE_ERR_UNAVAILABLE', { reason, ...(cause === undefined ? {} : { cause }) })
}
