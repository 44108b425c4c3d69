import type { Logger } from 'pino'
import type { Store } from './store/types.js'

/**
 * Deletes expired tokens in the background, in batches of `batchSize`, so the token table stays
 * the size of the live tokens without an operator running a janitor (Hydra needs `hydra janitor`).
 * Small batches keep each delete short, so token requests are never stuck behind a long one.
 * Returns a stop function.
 */
export function startJanitor(store: Store, logger: Logger, intervalMs: number, batchSize: number): () => void {
  let running = false
  const tick = async (): Promise<void> => {
    if (running) return
    running = true
    try {
      const total = await purgeExpired(store, { notAfter: Math.floor(Date.now() / 1000), batchSize, limit: Number.POSITIVE_INFINITY })
      if (total > 0) logger.debug({ purged: total }, 'expired access tokens purged')
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not purge expired access tokens; will retry')
    } finally {
      running = false
    }
  }
  const timer = setInterval(() => void tick(), intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** What one purge deletes: tokens expired at or before `notAfter`, at most `limit`, `batchSize` per delete. */
export interface PurgeOptions {
  /** Seconds since the epoch. */
  readonly notAfter: number
  readonly batchSize: number
  readonly limit: number
}

/**
 * Deletes expired tokens batch by batch until a batch comes back short or `limit` is reached;
 * returns how many. Shared by the background janitor and `gatehouse janitor`.
 */
export async function purgeExpired(store: Store, opts: PurgeOptions): Promise<number> {
  let total = 0
  while (total < opts.limit) {
    const batch = Math.min(opts.batchSize, opts.limit - total)
    const n = await store.purgeExpiredTokens(opts.notAfter, batch)
    total += n
    if (n < batch) break
    // Let requests in between batches.
    await new Promise((r) => setImmediate(r))
  }
  return total
}
