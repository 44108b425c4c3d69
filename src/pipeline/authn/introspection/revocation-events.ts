import type { Logger } from 'pino'
import { request, type Dispatcher } from 'undici'
import type { IntrospectionCache } from './cache.js'

/** Nothing at all (not even the server's 15 s heartbeat) for this long: the stream is dead. */
const SILENCE_MS = 45_000
const MAX_BACKOFF_MS = 5_000
/** While the stream is down, fresh answers are kept this long at most (see IntrospectionCache.shortTtlMs). */
export const DISCONNECTED_TTL_MS = 5_000

/**
 * Where a Gatehouse token server whose introspection endpoint is `introspectionUrl` serves its
 * revocation feed: the same admin API, so `…/admin/oauth2/introspect` (or Hydra 1.x's
 * `…/oauth2/introspect`) becomes `…/admin/revocations/events`, keeping any path prefix a reverse
 * proxy adds; any other path falls back to the origin's `/admin/revocations/events`.
 */
export function feedUrlFor(introspectionUrl: string): string {
  const u = new URL(introspectionUrl)
  const m = /^(.*?)\/(?:admin\/)?oauth2\/introspect\/?$/.exec(u.pathname)
  u.pathname = `${m?.[1] ?? ''}/admin/revocations/events`
  u.search = ''
  u.hash = ''
  return u.href
}

/** How the feed's URL was found: `configured` (cache.revocation_events_url) or `discovered` (feedUrlFor). */
export type FeedSource = 'configured' | 'discovered'

/**
 * Follows a token server's revocation feed (`GET /admin/revocations/events`, server-sent events)
 * and evicts revoked tokens from one introspection cache the moment they are revoked, instead
 * of when their cache entry expires. Beyond Oathkeeper and Hydra.
 *
 * Failure model: the cache's ttl still bounds every entry, events or not. While the stream is
 * down, answers fetched meanwhile are kept only briefly (DISCONNECTED_TTL_MS); on reconnect the
 * feed replays what was missed (Last-Event-ID), or says `reset`, and then the cache is cleared.
 *
 * A `discovered` feed is a guess until it answers: Hydra has none. Until the first stream opens,
 * the cache keeps its full ttl, a 4xx or an answer that is not an event stream means "no feed
 * here" (logged once, never asked again), and unreachable is retried quietly with the backoff.
 * Once a stream has opened, it is treated as a configured one.
 */
export class RevocationSubscriber {
  #lastId = ''
  #abort: AbortController | undefined
  #closed = false
  #backoffMs = 100
  #timer: NodeJS.Timeout | undefined
  /** A discovered feed that has not opened yet: failures are not news. */
  #probing: boolean
  /** For tests and metrics: true while a stream is open. */
  connected = false
  /** True once a discovered URL turned out to have no feed; nothing more is attempted. */
  absent = false

  constructor(
    private readonly url: string,
    private readonly headers: Readonly<Record<string, string>>,
    private readonly http: Dispatcher,
    private readonly cache: IntrospectionCache,
    private readonly logger: Logger,
    source: FeedSource = 'configured',
  ) {
    this.#probing = source === 'discovered'
    if (!this.#probing) this.cache.shortTtlMs = DISCONNECTED_TTL_MS
    void this.#connect()
  }

  async #connect(): Promise<void> {
    if (this.#closed) return
    const abort = new AbortController()
    this.#abort = abort
    let silence: NodeJS.Timeout | undefined
    const alive = (): void => {
      clearTimeout(silence)
      silence = setTimeout(() => abort.abort(new Error('no heartbeat')), SILENCE_MS)
      silence.unref()
    }
    try {
      const res = await request(this.url, {
        dispatcher: this.http,
        headers: { ...withoutContentType(this.headers), accept: 'text/event-stream', ...(this.#lastId === '' ? {} : { 'last-event-id': this.#lastId }) },
        signal: abort.signal,
        bodyTimeout: 0,
      })
      const type = String(res.headers['content-type'] ?? '')
      if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
        await res.body.dump()
        if (this.#probing && res.statusCode < 500) {
          this.absent = true
          this.logger.info({ url: this.url, status: res.statusCode }, 'no revocation feed next to the introspection endpoint; cached answers live until cache.ttl')
          return
        }
        throw new Error(res.statusCode !== 200 ? `status ${res.statusCode}` : `not an event stream (${type || 'no content type'})`)
      }
      if (this.#probing) {
        // Answers cached while probing had the full ttl and no feed to evict them: start clean.
        this.#probing = false
        this.cache.clear()
      }
      this.connected = true
      this.#backoffMs = 100
      this.cache.shortTtlMs = undefined
      this.logger.info({ url: this.url }, 'following revocation events')
      alive()
      let buffer = ''
      for await (const chunk of res.body) {
        alive()
        buffer += (chunk as Buffer).toString('utf8')
        let end: number
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          this.#handle(buffer.slice(0, end))
          buffer = buffer.slice(end + 2)
        }
      }
      throw new Error('stream ended')
    } catch (err) {
      if (this.#closed) return
      if (this.#probing) this.logger.debug({ url: this.url, err: (err as Error).message }, 'revocation feed not reachable yet')
      else this.logger.warn({ url: this.url, err: (err as Error).message }, 'revocation events unavailable; cached answers kept briefly until they are back')
    } finally {
      clearTimeout(silence)
      this.connected = false
    }
    if (this.absent || this.#closed) return
    if (!this.#probing) this.cache.shortTtlMs = DISCONNECTED_TTL_MS
    const wait = this.#backoffMs
    this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS)
    this.#timer = setTimeout(() => void this.#connect(), wait)
    this.#timer.unref()
  }

  /** One SSE block: `id:`, `event:`, `data:` lines (comments and retry are skipped). */
  #handle(block: string): void {
    let id: string | undefined
    let event = 'message'
    let data = ''
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const field = line.slice(0, colon)
      const value = line.slice(colon + 1).trimStart()
      if (field === 'id') id = value
      else if (field === 'event') event = value
      else if (field === 'data') data += value
    }
    if (event === 'reset') {
      this.cache.clear()
      this.logger.info({ url: this.url }, 'revocation events were missed; introspection cache cleared')
    } else if (event === 'revoked') {
      try {
        const r = JSON.parse(data) as { type?: string; signature_hash?: string; client_id?: string }
        if (r.type === 'token' && typeof r.signature_hash === 'string') this.cache.revokeSignature(r.signature_hash)
        else if (r.type === 'client' && typeof r.client_id === 'string') this.cache.revokeClient(r.client_id)
      } catch {
        // A malformed event cannot name a token; the ttl still bounds everything.
      }
    }
    if (id !== undefined) this.#lastId = id
  }

  dispose(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#abort?.abort()
  }
}

/** The introspection call's headers minus its form content type: this is a GET. */
function withoutContentType(h: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(h)) if (k !== 'content-type') out[k] = v
  return out
}
