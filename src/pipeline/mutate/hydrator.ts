import { hash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { parseDuration } from '../../config/duration.js'
import { ConfigError, GatehouseError } from '../../errors.js'
import { callRemote, compileRetry, configUrl, retrySchema, SINGLE_ATTEMPT, type CallContext, type RetryConfig } from '../remote-call.js'
import type { MutatorDef } from '../types.js'
import { parseHydrated, sessionJson, type HydratedSession } from './session-json.js'

/** Config of the `hydrator` mutator (Oathkeeper's keys). */
export interface HydratorConfig {
  readonly api: {
    /** The hydrator API; it gets a POST of the session JSON and answers with the new session. */
    readonly url: string
    /** HTTP Basic credentials for the API (they replace the client's Authorization header). */
    readonly auth?: { readonly basic: { readonly username: string; readonly password: string } }
    /**
     * Retry the call (connection failures, 5xx) within give_up_after (default 1s), waiting at
     * most max_delay (default 100ms) between attempts. Without it: one attempt, 10s at most.
     */
    readonly retry?: RetryConfig
  }
  readonly cache?: {
    /** Reuse the answer for an identical session JSON. Default false. */
    readonly enabled?: boolean
    /** How long an answer is reused (Go duration). Default "1m"; "0" means 1m too, as in Oathkeeper. */
    readonly ttl?: string
  }
}

/** Answers kept per gateway, bounded by their total size (as Oathkeeper's 32 MB ristretto cache). */
const CACHE_BYTES = 32 * 1024 * 1024

/** Connection-level headers of the client's request that are not copied to the API call. */
const NOT_COPIED: ReadonlySet<string> = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'proxy-authorization', 'proxy-connection'])

/**
 * `hydrator`: POSTs the session, serialised as Oathkeeper does (subject, extra, header,
 * match_context), to `api.url`, together with the client's headers and query, and replaces
 * subject, extra and header with the 200 answer, provided its subject is the session's subject
 * (a hydrator enriches a session, it cannot switch identities). Any other answer, a different
 * subject or an unreachable API is a 500. MatchContext stays the request's own.
 */
export const hydrator = {
  id: 'hydrator',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['api'],
    properties: {
      api: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: {
          url: { type: 'string', minLength: 1 },
          auth: {
            type: 'object',
            additionalProperties: false,
            properties: {
              basic: {
                type: 'object',
                additionalProperties: false,
                required: ['username', 'password'],
                properties: { username: { type: 'string' }, password: { type: 'string' } },
              },
            },
          },
          retry: retrySchema,
        },
      },
      cache: {
        type: 'object',
        additionalProperties: false,
        properties: { enabled: { type: 'boolean', default: false }, ttl: { type: 'string', default: '1m' } },
      },
    },
  },
  create(config, deps) {
    const api = configUrl(config.api.url, 'api.url')
    const base = `${api.protocol}//${api.host}${api.pathname}`
    const basic = config.api.auth?.basic
    const authorization = basic === undefined ? undefined : `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`
    const policy = config.api.retry === undefined ? SINGLE_ATTEMPT : compileRetry(config.api.retry, { give_up_after: '1s', max_delay: '100ms' }, 'api.retry')
    const ctx: CallContext = { http: deps.http, policy, unreachable: 'GATEHOUSE_ERR_INTERNAL', what: 'hydrator api.url' }
    const cacheOn = config.cache?.enabled === true
    let ttl = 60_000
    try {
      ttl = parseDuration(config.cache?.ttl ?? '1m') || 60_000
    } catch (err) {
      throw new ConfigError(`cache.ttl: ${(err as Error).message}`)
    }
    const cache = deps.shared.get('mutate/hydrator', () => new LRUCache<string, string>({ maxSize: CACHE_BYTES, sizeCalculation: (v, k) => v.length + k.length }))
    // The key covers the API and its credentials too: two rules' hydrators must not share answers.
    const keyPrefix = hash('sha256', `${api.href}\0${authorization ?? ''}`, 'base64url')

    const fail = (reason: string): GatehouseError => new GatehouseError('GATEHOUSE_ERR_INTERNAL', { reason: `hydrator: ${reason}` })

    /** Replaces the session's parts; a copy per request, so later mutators cannot touch the cache. */
    const apply = (session: Parameters<typeof sessionJson>[0], h: HydratedSession): void => {
      if (h.Subject !== session.Subject) throw fail('the answer is for another subject than the session')
      session.Extra = h.Extra
      session.Header = h.Header
    }

    return async (req, session) => {
      const json = sessionJson(session, req)
      const key = cacheOn ? `${keyPrefix}:${hash('sha256', json, 'base64url')}` : ''
      const hit = cacheOn ? cache.get(key) : undefined
      if (hit !== undefined) {
        apply(session, parseHydrated(hit) as HydratedSession)
        return
      }
      const headers: Record<string, string | string[]> = {}
      for (const [name, v] of Object.entries(req.headers)) if (v !== undefined && !NOT_COPIED.has(name)) headers[name] = v
      if (authorization !== undefined) headers.authorization = authorization
      headers['content-type'] = 'application/json'
      // Oathkeeper sends the client's query in place of the API URL's own.
      const answer = await callRemote(ctx, `${base}${req.url.search}`, { method: 'POST', headers, body: json, readBody: true, trace: req.trace })
      if (answer.status === 401) throw fail(authorization === undefined ? 'the API wants credentials and none are configured (401)' : 'the API refused the configured credentials (401)')
      if (answer.status !== 200) throw fail(`the API answered ${answer.status}, not 200`)
      const text = answer.body.toString('utf8')
      const parsed = parseHydrated(text)
      if (typeof parsed === 'string') throw fail(parsed)
      apply(session, parsed)
      if (cacheOn) cache.set(key, text, { ttl })
    }
  },
} satisfies MutatorDef<HydratorConfig>
