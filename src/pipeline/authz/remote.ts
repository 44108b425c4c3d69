import { GatehouseError } from '../../errors.js'
import { callRemote, compileRetry, configUrl, first, retrySchema, type CallContext, type RetryConfig } from '../remote-call.js'
import type { AuthorizerDef } from '../types.js'
import { applyAnswer, checkForwardedNames, compileHeaderTemplates, renderHeaders } from './remote-common.js'

/** Config of the `remote` authorizer (Oathkeeper's keys plus `max_body_size`). */
export interface RemoteAuthorizerConfig {
  /** The authorizer's URL; it gets a POST of the original request body. 200 allows, 403 denies. */
  readonly remote: string
  /** Extra request headers: name → template rendered with the session. Empty values are not sent. */
  readonly headers?: Readonly<Record<string, string>>
  /** Response headers of a 200 copied onto the upstream request. */
  readonly forward_response_headers_to_upstream?: readonly string[]
  /** Time budget and back-off of the call. Defaults: give_up_after 1s, max_delay 100ms. */
  readonly retry?: RetryConfig
  /**
   * Gatehouse: the largest request body buffered for the authorizer, in bytes. Default 1 MiB.
   * A bigger body is refused with 413 before anything is sent anywhere.
   */
  readonly max_body_size?: number
}

/**
 * `remote`: POSTs the original request body, with the request's Content-Type and Authorization
 * and the rendered `headers`, to `remote`. The body is buffered (up to `max_body_size`) so that
 * the upstream still receives it after the authorizer has seen it. Through the decision API the
 * body is that of the decision request itself (what the proxy in front chose to send, often
 * nothing), as in Oathkeeper.
 */
export const remote = {
  id: 'remote',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['remote'],
    properties: {
      remote: { type: 'string', minLength: 1 },
      headers: { type: 'object', additionalProperties: { type: 'string' } },
      forward_response_headers_to_upstream: { type: 'array', items: { type: 'string' }, default: [] },
      retry: retrySchema,
      max_body_size: { type: 'integer', minimum: 0, default: 1024 * 1024 },
    },
  },
  create(config, deps) {
    const url = configUrl(config.remote, 'remote').href
    const templates = compileHeaderTemplates(config.headers)
    const forwarded = checkForwardedNames(config.forward_response_headers_to_upstream)
    const limit = config.max_body_size ?? 1024 * 1024
    const policy = compileRetry(config.retry, { give_up_after: '1s', max_delay: '100ms' }, 'retry')
    const ctx: CallContext = { http: deps.http, policy, unreachable: 'GATEHOUSE_ERR_INTERNAL', what: 'remote authorizer' }

    return async (req, session) => {
      if (req.readBody === undefined) {
        throw new GatehouseError('GATEHOUSE_ERR_INTERNAL', { reason: 'remote authorizer: this request offers no body to read' })
      }
      const body = await req.readBody(limit)
      const headers: Record<string, string> = {}
      const contentType = first(req.headers['content-type'])
      if (contentType !== undefined && contentType !== '') headers['content-type'] = contentType
      const authorization = first(req.headers.authorization)
      if (authorization !== undefined && authorization !== '') headers.authorization = authorization
      renderHeaders(templates, session, headers)
      const answer = await callRemote(ctx, url, { method: 'POST', headers, body, readBody: false, trace: req.trace })
      applyAnswer(answer, session, forwarded, 'remote authorizer', true)
    }
  },
} satisfies AuthorizerDef<RemoteAuthorizerConfig>
