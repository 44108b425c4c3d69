import pg from 'pg'
import type { Logger } from '../../observability/logger.js'
import type { StoreEvents } from './types.js'

/**
 * Cluster-wide events over Postgres LISTEN/NOTIFY: every token server on the same database (and
 * schema: the channel name includes it) hears what any of them publishes. Publishing uses the
 * pool; listening holds one dedicated connection, re-established with backoff when it drops.
 * While it is down, events may be missed, so listeners are told (`null`) on every reconnect.
 */
export class PostgresEvents implements StoreEvents {
  readonly #channel: string
  readonly #listeners = new Set<(payload: string | null) => void>()
  #client: pg.Client | undefined
  #retry: NodeJS.Timeout | undefined
  #closed = false
  #backoffMs = 100

  constructor(
    private readonly pool: pg.Pool,
    private readonly clientConfig: pg.ClientConfig,
    schema: string | undefined,
    private readonly logger?: Logger,
  ) {
    this.#channel = `gatehouse_revocations_${schema ?? 'public'}`.slice(0, 63)
  }

  async publish(payload: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [this.#channel, payload])
  }

  subscribe(listener: (payload: string | null) => void): () => void {
    this.#listeners.add(listener)
    if (this.#client === undefined && this.#retry === undefined) void this.#connect()
    return () => {
      this.#listeners.delete(listener)
    }
  }

  async #connect(): Promise<void> {
    if (this.#closed) return
    const client = new pg.Client(this.clientConfig)
    client.on('error', () => this.#lost(client))
    client.on('end', () => this.#lost(client))
    client.on('notification', (n) => {
      if (n.channel === this.#channel && n.payload !== undefined) for (const l of this.#listeners) l(n.payload)
    })
    try {
      await client.connect()
      await client.query(`LISTEN "${this.#channel}"`)
      this.#client = client
      this.#backoffMs = 100
      // Whatever was published while no connection listened is unknown: say so.
      for (const l of this.#listeners) l(null)
    } catch (err) {
      this.logger?.warn({ err: (err as Error).message }, 'cannot listen for revocation events on Postgres; retrying')
      client.end().catch(() => undefined)
      this.#schedule()
    }
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return
    this.#client = undefined
    client.end().catch(() => undefined)
    if (!this.#closed) {
      this.logger?.warn('lost the Postgres connection listening for revocation events; reconnecting')
      this.#schedule()
    }
  }

  #schedule(): void {
    if (this.#closed || this.#retry !== undefined) return
    const wait = this.#backoffMs
    this.#backoffMs = Math.min(this.#backoffMs * 2, 5_000)
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      void this.#connect()
    }, wait)
    this.#retry.unref()
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#retry !== undefined) clearTimeout(this.#retry)
    const c = this.#client
    this.#client = undefined
    await c?.end().catch(() => undefined)
  }
}
