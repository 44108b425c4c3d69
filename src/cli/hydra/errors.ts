/**
 * Failures of the Hydra-style verbs. Each kind knows how to say itself in one or two lines on
 * stderr; `action()` is the one place that prints them and sets the exit code, so no verb prints
 * a stack trace or exits before its output is flushed.
 */

/** A failure whose message is meant for the user as is (bad flag value, missing credentials). */
export class CliError extends Error {
  override readonly name: string = 'CliError'
}

/** The server answered, but not with 2xx. */
export class ApiError extends CliError {
  override readonly name = 'ApiError'
  constructor(
    /** What the command was doing, e.g. `could not get OAuth 2.0 client "abc"`. */
    readonly what: string,
    readonly status: number,
    /** The parsed JSON body, or the text when it was not JSON. */
    readonly body: unknown,
  ) {
    super(`${what}: ${describeBody(status, body)}`)
  }
}

/** No HTTP answer at all: refused, DNS failure, timeout, TLS error. */
export class UnreachableError extends CliError {
  override readonly name = 'UnreachableError'
  constructor(
    readonly endpoint: string,
    readonly reason: string,
  ) {
    super(`could not reach ${endpoint} (${reason}); is the server running there? Set it with --endpoint or ORY_SDK_URL.`)
  }
}

/**
 * The server's own words for an error: Hydra's OAuth2 shape `{error, error_description}`, its
 * herodot shape `{error: {message, reason}}`, or else the status and (shortened) body.
 */
export function describeBody(status: number, body: unknown): string {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const b = body as Record<string, unknown>
    if (typeof b.error === 'string') {
      const desc = typeof b.error_description === 'string' && b.error_description !== '' ? `: ${b.error_description}` : ''
      return `${b.error}${desc} (HTTP ${status})`
    }
    if (typeof b.error === 'object' && b.error !== null) {
      const e = b.error as Record<string, unknown>
      const parts = [e.message, e.reason].filter((x): x is string => typeof x === 'string' && x !== '')
      if (parts.length > 0) return `${parts.join(': ')} (HTTP ${status})`
    }
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  // A proxy's HTML error page can be long; the first part is enough to recognise it.
  const short = text === undefined || text === '' ? '(empty body)' : text.length > 300 ? `${text.slice(0, 300)}…` : text
  return `HTTP ${status}: ${short.replace(/\s+/g, ' ')}`
}

/** Prints a failure on stderr as `error: …` (commander's own wording for usage errors) and marks the process as failed. */
export function report(err: unknown): void {
  // Anything that is not ours is a bug or an undici surprise: still one line, never a stack.
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`error: ${message}\n`)
  process.exitCode = 1
}

/**
 * Wraps a commander action so that every failure is reported by `report` and sets
 * `process.exitCode` (not `process.exit`), letting stdout drain before Node exits.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args)
    } catch (err) {
      report(err)
    }
  }
}
