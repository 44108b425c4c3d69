import { hash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { parseDuration } from '../../config/duration.js'
import { ConfigError, GatehouseError } from '../../errors.js'
import type { TraceContext } from '../../observability/trace-context.js'
import { callRemote, compileRetry, configUrl, retrySchema, tooManyRequests, type CallContext, type RetryConfig } from '../remote-call.js'
import type { SharedResources } from '../shared.js'
import type { AuthenticatorDef } from '../types.js'

/** Config of the `oauth2_client_credentials` authenticator (Oathkeeper's keys). */
export interface ClientCredentialsConfig {
  /** The OAuth 2.0 token endpoint the request's Basic credentials are checked against. */
  readonly token_url: string
  /** Scopes requested with the grant; the token endpoint refuses clients lacking them (→ 401). */
  readonly required_scope?: readonly string[]
  /** Time budget and back-off of the token request. Defaults: give_up_after 2s, max_delay 1s. */
  readonly retry?: RetryConfig
  readonly cache?: {
    /** Remember credentials that obtained a token, until the token expires. Default false. */
    readonly enabled?: boolean
    /** Caps how long an entry is kept (Go duration); never beyond the token's expiry. */
    readonly ttl?: string
    /** Most entries kept (least recently used go first). Default 1000. */
    readonly max_tokens?: number
  }
}

/** Per-gateway state for this authenticator: the cache and the token requests in flight. */
interface CredentialsState {
  readonly cache: LRUCache<string, true>
  readonly inflight: Map<string, Promise<number | undefined>>
}

/**
 * `oauth2_client_credentials`: a request with `Authorization: Basic` is authenticated by
 * performing the client credentials grant with those credentials at `token_url`; the subject is
 * the client id. Without Basic credentials the authenticator is not responsible. The token is
 * not used further; with the cache on, credentials that obtained one are remembered (keyed by a
 * SHA-256 of endpoint, scopes and credentials, never the secret itself) until it expires.
 */
export const oauth2ClientCredentials = {
  id: 'oauth2_client_credentials',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['token_url'],
    properties: {
      token_url: { type: 'string', minLength: 1 },
      required_scope: { type: 'array', items: { type: 'string', minLength: 1 } },
      retry: retrySchema,
      cache: {
        type: 'object',
        additionalProperties: false,
        properties: {
          enabled: { type: 'boolean', default: false },
          ttl: { type: 'string' },
          max_tokens: { type: 'integer', minimum: 1, default: 1000 },
        },
      },
    },
  },
  create(config, deps) {
    const tokenUrl = configUrl(config.token_url, 'token_url').href
    const scope = (config.required_scope ?? []).join(' ')
    const policy = compileRetry(config.retry, { give_up_after: '2s', max_delay: '1s' }, 'retry')
    const ctx: CallContext = { http: deps.http, policy, unreachable: 'GATEHOUSE_ERR_UNAVAILABLE', what: 'oauth2_client_credentials token_url' }
    const cacheOn = config.cache?.enabled === true
    let ttlCap = Infinity
    if (config.cache?.ttl !== undefined) {
      try {
        ttlCap = parseDuration(config.cache.ttl)
      } catch (err) {
        throw new ConfigError(`cache.ttl: ${(err as Error).message}`)
      }
    }
    const state = sharedState(deps.shared, config.cache?.max_tokens ?? 1000)
    const form = new URLSearchParams({ grant_type: 'client_credentials' })
    if (scope !== '') form.set('scope', scope)
    const body = form.toString()

    /**
     * Asks the token endpoint; resolves the token's lifetime in ms (undefined: not stated).
     * `trace`: the asking request's (shared requests send the first one's).
     */
    async function exchange(id: string, secret: string, trace: TraceContext | undefined): Promise<number | undefined> {
      const answer = await callRemote(ctx, tokenUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          // client_secret_basic: each part form-encoded first (RFC 6749 §2.3.1), as Go's oauth2 does.
          authorization: `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`,
        },
        body,
        readBody: true,
        trace,
      })
      if (answer.status < 200 || answer.status > 299) throw statusError(answer.status, answer)
      let token: { access_token?: unknown; expires_in?: unknown }
      try {
        token = JSON.parse(answer.body.toString('utf8')) as typeof token
      } catch {
        throw new GatehouseError('GATEHOUSE_ERR_UNAVAILABLE', { reason: 'token_url answered with a body that is not JSON' })
      }
      if (typeof token.access_token !== 'string' || token.access_token === '') {
        throw new GatehouseError('GATEHOUSE_ERR_UNAVAILABLE', { reason: 'token_url answered without an access_token' })
      }
      const exp = Number(token.expires_in)
      return Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined
    }

    return async (req, session) => {
      const creds = basicCredentials(req.headers.authorization)
      if (creds === undefined) return false
      const id = formDecode(creds[0])
      const secret = formDecode(creds[1])
      if (id === undefined || secret === undefined) {
        throw new GatehouseError('GATEHOUSE_ERR_UNAUTHORIZED', { reason: 'Basic credentials are not valid form-encoding' })
      }
      const key = hash('sha256', `${tokenUrl}\0${scope}\0${id}\0${secret}`, 'base64url')
      if (cacheOn && state.cache.get(key) === true) {
        session.Subject = id
        return true
      }
      // Concurrent requests with the same credentials share one token request.
      let pending = state.inflight.get(key)
      if (pending === undefined) {
        pending = exchange(id, secret, req.trace).finally(() => state.inflight.delete(key))
        state.inflight.set(key, pending)
      }
      const lifetime = await pending
      if (cacheOn) {
        // No stated lifetime and no ttl: not cached (Oathkeeper would keep it forever).
        const ttl = Math.min(lifetime ?? Infinity, ttlCap)
        if (Number.isFinite(ttl) && ttl > 0) state.cache.set(key, true, { ttl })
      }
      session.Subject = id
      return true
    }
  },
} satisfies AuthenticatorDef<ClientCredentialsConfig>

function sharedState(shared: SharedResources, max: number): CredentialsState {
  return shared.get(`authn/oauth2_client_credentials/${max}`, () => ({
    cache: new LRUCache<string, true>({ max }),
    inflight: new Map<string, Promise<number | undefined>>(),
  }))
}

/** Oathkeeper's mapping of token endpoint failures (golang.org/x/oauth2 RetrieveError). */
function statusError(status: number, answer: Parameters<typeof tooManyRequests>[0]): GatehouseError {
  const reason = `token_url answered ${status}`
  switch (status) {
    case 429:
      return tooManyRequests(answer, 'oauth2_client_credentials token_url')
    case 503:
      return new GatehouseError('GATEHOUSE_ERR_UNAVAILABLE', { reason })
    case 504:
      return new GatehouseError('GATEHOUSE_ERR_UPSTREAM_TIMEOUT', { reason })
    case 500:
    case 404: // Oathkeeper answers 404 here; a missing token endpoint is our misconfiguration, so 500.
      return new GatehouseError('GATEHOUSE_ERR_INTERNAL', { reason })
    default:
      // 400 invalid_scope, 401 invalid_client…: the client's credentials do not pass.
      return new GatehouseError('GATEHOUSE_ERR_UNAUTHORIZED', { reason })
  }
}

/**
 * `Basic base64(user:password)` as Go's Request.BasicAuth reads it: scheme case-insensitive,
 * strict base64, split at the first colon. undefined when the header is not Basic credentials.
 */
export function basicCredentials(header: string | undefined): [string, string] | undefined {
  if (header === undefined || header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') return undefined
  const encoded = header.slice(6)
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return undefined
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) return undefined
  return [decoded.slice(0, colon), decoded.slice(colon + 1)]
}

/** Go's url.QueryUnescape: '+' is a space, a bad %-escape is an error (undefined). */
function formDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '))
  } catch {
    return undefined
  }
}

/** Go's url.QueryEscape: form encoding, space as '+'. */
function formEncode(s: string): string {
  return new URLSearchParams({ s }).toString().slice(2)
}
