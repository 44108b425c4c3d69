import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { StoreEvents } from './store/types.js'

/**
 * What gateways need to evict from their introspection caches. Tokens are named by the SHA-256
 * of their signature (the part after the last '.'), which a gateway can compute from a token it
 * cached; a whole client's tokens by its id.
 */
export type Revocation = { readonly type: 'token'; readonly signature_hash: string } | { readonly type: 'client'; readonly client_id: string }

export interface FeedEvent {
  /** `<instance>:<sequence>`: a resume cursor valid on this token-server instance. */
  readonly id: string
  readonly revocation: Revocation
}

/** What a subscriber is told. `reset`: events may have been missed; drop everything cached. */
export interface FeedSubscriber {
  event(e: FeedEvent): void
  reset(): void
}

/**
 * The revocation feed gateways subscribe to (`GET /admin/revocations/events`, server-sent
 * events). Events are numbered per instance and the last `capacity` are kept, so a gateway that
 * reconnects with its last id gets exactly what it missed; one that cannot be served that way
 * (another instance, or too far behind) is told to reset. With a cluster-wide channel (Postgres
 * LISTEN/NOTIFY) a revocation made on any instance reaches the subscribers of every instance.
 */
export class RevocationFeed {
  readonly #instance = randomUUID().slice(0, 8)
  readonly #buffer: FeedEvent[] = []
  readonly #subscribers = new Set<FeedSubscriber>()
  #seq = 0
  readonly #unsubscribe: (() => void) | undefined

  constructor(
    private readonly channel: StoreEvents | undefined,
    private readonly logger: Logger,
    private readonly capacity = 10_000,
  ) {
    this.#unsubscribe = channel?.subscribe((payload) => {
      if (payload === null) return this.#gap()
      try {
        this.#append(JSON.parse(payload) as Revocation)
      } catch {
        logger.warn('ignoring a malformed revocation event from the store channel')
      }
    })
  }

  /** Announces a revocation: through the cluster channel when there is one, else locally. */
  async publish(r: Revocation): Promise<void> {
    if (this.channel === undefined) {
      this.#append(r)
      return
    }
    try {
      await this.channel.publish(JSON.stringify(r))
    } catch (err) {
      // The revocation itself is done (the token is gone from the store); subscribers here still
      // learn of it, and others' caches expire by their TTL.
      this.logger.warn({ err: (err as Error).message }, 'could not publish a revocation event cluster-wide')
      this.#append(r)
    }
  }

  /**
   * Adds a subscriber; replays what it missed after `lastId`, or tells it to reset when that
   * cannot be done. Returns the unsubscribe function.
   */
  subscribe(s: FeedSubscriber, lastId: string | undefined): () => void {
    if (lastId !== undefined && lastId !== '') {
      const [instance, seqText] = lastId.split(':')
      const seq = Number(seqText)
      const oldest = this.#buffer[0] === undefined ? this.#seq + 1 : seqOf(this.#buffer[0])
      if (instance !== this.#instance || !Number.isInteger(seq) || seq > this.#seq || seq < oldest - 1) s.reset()
      else for (const e of this.#buffer) if (seqOf(e) > seq) s.event(e)
    }
    this.#subscribers.add(s)
    return () => this.#subscribers.delete(s)
  }

  /** The id of the newest event (what a fresh subscriber resumes from), '' before any. */
  get cursor(): string {
    return `${this.#instance}:${this.#seq}`
  }

  close(): void {
    this.#unsubscribe?.()
    this.#subscribers.clear()
  }

  #append(r: Revocation): void {
    const e: FeedEvent = { id: `${this.#instance}:${++this.#seq}`, revocation: r }
    this.#buffer.push(e)
    if (this.#buffer.length > this.capacity) this.#buffer.shift()
    for (const s of this.#subscribers) s.event(e)
  }

  /** The cluster channel may have dropped events: nobody's cursor can be trusted any more. */
  #gap(): void {
    this.#buffer.length = 0
    for (const s of this.#subscribers) s.reset()
  }
}

function seqOf(e: FeedEvent): number {
  return Number(e.id.slice(e.id.indexOf(':') + 1))
}
