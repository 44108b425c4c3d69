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
      let total = 0
      for (;;) {
        const n = await store.purgeExpiredTokens(Math.floor(Date.now() / 1000), batchSize)
        total += n
        if (n < batchSize) break
        // Let requests in between batches.
        await new Promise((r) => setImmediate(r))
      }
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
