import { ConfigError, GatehouseError } from '../../errors.js'
import { callRemote, compileRetry, configUrl, first, retrySchema, type CallContext, type RetryConfig } from '../remote-call.js'
import { compileTemplate } from '../template.js'
import type { AuthorizerDef } from '../types.js'
import { applyAnswer, checkForwardedNames, compileHeaderTemplates, renderHeaders } from './remote-common.js'

/** Config of the `remote_json` authorizer (Oathkeeper's keys). */
export interface RemoteJsonAuthorizerConfig {
  /** The authorizer's URL; it gets a POST of the rendered payload. 200 allows, 403 denies. */
  readonly remote: string
  /**
   * Template rendered with the session, e.g. `{"subject":"{{ print .Subject }}"}`; the result
   * must be a JSON text, or the request fails with 500 and the authorizer is not called.
   */
  readonly payload: string
  /** Extra request headers: name → template rendered with the session. Empty values are not sent. */
  readonly headers?: Readonly<Record<string, string>>
  /** Response headers of a 200 copied onto the upstream request. */
  readonly forward_response_headers_to_upstream?: readonly string[]
  /** Time budget and back-off of the call. Defaults: give_up_after 1s, max_delay 100ms. */
  readonly retry?: RetryConfig
}

/**
 * `remote_json`: POSTs the rendered `payload` as application/json (with the request's
 * Authorization) to `remote`. As in Oathkeeper, only 200 allows and 403 denies; every other
 * answer, 429 included, is a 500.
 */
export const remoteJson = {
  id: 'remote_json',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['remote', 'payload'],
    properties: {
      remote: { type: 'string', minLength: 1 },
      payload: { type: 'string' },
      headers: { type: 'object', additionalProperties: { type: 'string' } },
      forward_response_headers_to_upstream: { type: 'array', items: { type: 'string' }, default: [] },
      retry: retrySchema,
    },
  },
  create(config, deps) {
    const url = configUrl(config.remote, 'remote').href
    const payload = compileTemplate(config.payload, 'payload')
    const templates = compileHeaderTemplates(config.headers)
    const forwarded = checkForwardedNames(config.forward_response_headers_to_upstream)
    const policy = compileRetry(config.retry, { give_up_after: '1s', max_delay: '100ms' }, 'retry')
    const ctx: CallContext = { http: deps.http, policy, unreachable: 'GATEHOUSE_ERR_INTERNAL', what: 'remote_json authorizer' }
    if (config.payload.trim() === '') throw new ConfigError('payload must not be empty')

    return async (req, session) => {
      const body = payload(session)
      try {
        JSON.parse(body)
      } catch (err) {
        throw new GatehouseError('GATEHOUSE_ERR_TEMPLATE', {
          reason: `remote_json authorizer: payload is not a JSON text: ${(err as Error).message}`,
        })
      }
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      const authorization = first(req.headers.authorization)
      if (authorization !== undefined && authorization !== '') headers.authorization = authorization
      renderHeaders(templates, session, headers)
      const answer = await callRemote(ctx, url, { method: 'POST', headers, body, readBody: false, trace: req.trace })
      applyAnswer(answer, session, forwarded, 'remote_json authorizer', false)
    }
  },
} satisfies AuthorizerDef<RemoteJsonAuthorizerConfig>
