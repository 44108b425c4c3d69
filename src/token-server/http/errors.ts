import type { Logger } from 'pino'
import { OAuthError, serverError, unavailable } from '../oauth-error.js'
import { StoreUnavailableError } from '../store/types.js'
import { sendJson } from './io.js'
import type { RouteContext } from './router.js'

/**
 * How a route answers an error: each route picks its own, because OAuth endpoints differ. The
 * token, revocation and admin endpoints answer JSON (RFC 6749 §5.2); the authorization endpoint
 * sends the browser back to the client's redirect URI with `error` in the query or fragment
 * (§4.1.2.1), or to an error page when that URI cannot be trusted. Called only while the
 * response has not started; the router closes the connection otherwise.
 */
export type ErrorRenderer = (ctx: RouteContext, err: OAuthError) => void

/** Hydra's JSON shape, `{"error":…,"error_description":…}`, never cached: every route's default. */
export const renderJsonError: ErrorRenderer = ({ res }, err) => {
  sendJson(res, err.status, err.toJSON(), { ...err.headers, 'cache-control': 'no-store' })
}

/**
 * What a client may see of anything a handler threw: an OAuthError as it is, a store outage as
 * 503, anything else as a generic 500 (logged here with its stack, which never reaches the client).
 */
export function toOAuthError(err: unknown, logger: Logger, path: string): OAuthError {
  if (err instanceof OAuthError) return err
  if (err instanceof StoreUnavailableError) {
    logger.error({ err: err.message, path }, 'store unavailable')
    return unavailable()
  }
  logger.error({ err, path }, 'unhandled error in token server')
  return serverError()
}
