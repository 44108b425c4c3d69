/**
 * The error catalogue. Every failure that reaches a client is a GatehouseError with a stable
 * code, an HTTP status and an error "kind" that error handlers match on (`when.error`).
 * Nothing on the request path compares message strings.
 */

/** The kinds error handlers' `when.error` can name, as in Oathkeeper. */
export type ErrorKind =
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'internal_server_error'
  | 'bad_request'
  | 'bad_gateway'
  | 'gateway_timeout'
  | 'service_unavailable'
  | 'too_many_requests'
  | 'payload_too_large'

interface CatalogueEntry {
  readonly status: number
  readonly kind: ErrorKind
  readonly message: string
}

/** Stable codes → status, kind and the default client-facing message. */
export const ERRORS = {
  GATEHOUSE_ERR_NO_RULE: { status: 404, kind: 'not_found', message: 'Requested url does not match any rules' },
  GATEHOUSE_ERR_MULTIPLE_RULES: { status: 500, kind: 'internal_server_error', message: 'Expected exactly one rule but found multiple rules' },
  GATEHOUSE_ERR_UNAUTHORIZED: { status: 401, kind: 'unauthorized', message: 'Access credentials are invalid' },
  GATEHOUSE_ERR_NO_AUTHENTICATOR: { status: 401, kind: 'unauthorized', message: 'Access credentials are invalid' },
  GATEHOUSE_ERR_FORBIDDEN: { status: 403, kind: 'forbidden', message: 'Access credentials are not sufficient to access this resource' },
  GATEHOUSE_ERR_BAD_REQUEST: { status: 400, kind: 'bad_request', message: 'The request was malformed or contained invalid parameters' },
  GATEHOUSE_ERR_NO_UPSTREAM: { status: 500, kind: 'internal_server_error', message: 'Rule has no upstream and can not be used to proxy requests' },
  GATEHOUSE_ERR_UPSTREAM_UNREACHABLE: { status: 502, kind: 'bad_gateway', message: 'The upstream could not be reached' },
  GATEHOUSE_ERR_UPSTREAM_TIMEOUT: { status: 504, kind: 'gateway_timeout', message: 'The upstream did not answer in time' },
  // Sent with Retry-After: the upstream's connections and queue are full, so waiting would not help.
  GATEHOUSE_ERR_UPSTREAM_BUSY: { status: 503, kind: 'service_unavailable', message: 'The upstream is busy, try again later' },
  GATEHOUSE_ERR_UNAVAILABLE: { status: 503, kind: 'service_unavailable', message: 'A service needed to check the request is unavailable' },
  GATEHOUSE_ERR_TOO_MANY_REQUESTS: { status: 429, kind: 'too_many_requests', message: 'Too many requests' },
  GATEHOUSE_ERR_PAYLOAD_TOO_LARGE: { status: 413, kind: 'payload_too_large', message: 'The request body is larger than this rule allows' },
  GATEHOUSE_ERR_TEMPLATE: { status: 500, kind: 'internal_server_error', message: 'A rule template could not be rendered' },
  GATEHOUSE_ERR_INTERNAL: { status: 500, kind: 'internal_server_error', message: 'An internal server error occurred' },
} as const satisfies Record<string, CatalogueEntry>

export type ErrorCode = keyof typeof ERRORS

export interface GatehouseErrorOptions {
  /** Overrides the catalogue message (client-facing). */
  readonly message?: string
  /** Why it happened; shown only by verbose error handlers and in logs. */
  readonly reason?: string
  /** Extra structured detail for verbose error handlers and logs. */
  readonly details?: Readonly<Record<string, unknown>>
  /** Headers the error response must carry (e.g. Retry-After, WWW-Authenticate). */
  readonly headers?: Readonly<Record<string, string>>
  readonly cause?: unknown
}

/** A typed error with a stable code; status and kind come from the catalogue. */
export class GatehouseError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly kind: ErrorKind
  readonly reason: string | undefined
  readonly details: Readonly<Record<string, unknown>> | undefined
  readonly headers: Readonly<Record<string, string>> | undefined

  constructor(code: ErrorCode, options: GatehouseErrorOptions = {}) {
    const entry: CatalogueEntry = ERRORS[code]
    super(options.message ?? entry.message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'GatehouseError'
    this.code = code
    this.status = entry.status
    this.kind = entry.kind
    this.reason = options.reason
    this.details = options.details
    this.headers = options.headers
  }
}

/** Wraps anything thrown into a GatehouseError (unknown failures become 500). */
export function toGatehouseError(err: unknown): GatehouseError {
  if (err instanceof GatehouseError) return err
  return new GatehouseError('GATEHOUSE_ERR_INTERNAL', {
    reason: err instanceof Error ? err.message : String(err),
    cause: err,
  })
}

/** HTTP reason phrases used in error bodies ("Not Found"), as Oathkeeper prints them. */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? 'Error'
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/**
 * A load-time problem with configuration or a rule: never reaches a client, always names
 * where it came from (file, rule id, key path).
 */
export class ConfigError extends Error {
  readonly problems: readonly string[]
  constructor(message: string, problems: readonly string[] = [message]) {
    // With one problem the problem itself is the message, so no detail is lost to a summary.
    super(problems.length > 1 ? `${message}:\n  - ${problems.join('\n  - ')}` : (problems[0] ?? message))
    this.name = 'ConfigError'
    this.problems = problems
  }
}
