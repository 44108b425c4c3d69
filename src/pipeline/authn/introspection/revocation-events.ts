import type { Logger } from 'pino'
import { request, type Dispatcher } from 'undici'
import type { IntrospectionCache } from './cache.js'

/** Nothing at all (not even the server's 15 s heartbeat) for this long: the stream is dead. */
const SILENCE_MS = 45_000
const MAX_BACKOFF_MS = 5_000
/** While the stream is down, fresh answers are kept this long at most (see IntrospectionCache.shortTtlMs). */
export const DISCONNECTED_TTL_MS = 5_000

/**
 * Follows a token server's revocation feed (`GET /admin/revocations/events`, server-sent events)
 * and evicts revoked tokens from one introspection cache the moment they are revoked, instead
 * of when their cache entry expires. Beyond Oathkeeper and Hydra.
 *
 * Failure model: the cache's ttl still bounds every entry, events or not. While the stream is
 * down, answers fetched meanwhile are kept only briefly (DISCONNECTED_TTL_MS); on reconnect the
 * feed replays what was missed (Last-Event-ID), or says `reset`, and then the cache is cleared.
 */
export class RevocationSubscriber {
  #lastId = ''
  #abort: AbortController | undefined
  #closed = false
  #backoffMs = 100
  #timer: NodeJS.Timeout | undefined
  /** For tests and metrics: true while a stream is open. */
  connected = false

  constructor(
    private readonly url: string,
    private readonly headers: Readonly<Record<string, string>>,
    private readonly http: Dispatcher,
    private readonly cache: IntrospectionCache,
    private readonly logger: Logger,
  ) {
    this.cache.shortTtlMs = DISCONNECTED_TTL_MS
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
      if (res.statusCode !== 200) {
        await res.body.dump()
        throw new Error(`status ${res.statusCode}`)
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
      this.logger.warn({ url: this.url, err: (err as Error).message }, 'revocation events unavailable; cached answers kept briefly until they are back')
    } finally {
      clearTimeout(silence)
      this.connected = false
    }
    this.cache.shortTtlMs = DISCONNECTED_TTL_MS
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
