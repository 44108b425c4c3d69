import type { Logger } from 'pino'
import type { Store } from './store/types.js'

/**
 * Deletes expired tokens and expired OpenID Connect records (flows, sessions, codes, refresh
 * state) in the background, in batches of `batchSize`, so the tables stay the size of what is
 * live without an operator running a janitor (Hydra needs `hydra janitor`). Small batches keep
 * each delete short, so token requests are never stuck behind a long one. Returns a stop function.
 */
export function startJanitor(store: Store, logger: Logger, intervalMs: number, batchSize: number): () => void {
  let running = false
  const tick = async (): Promise<void> => {
    if (running) return
    running = true
    const opts: PurgeOptions = { notAfter: Math.floor(Date.now() / 1000), batchSize, limit: Number.POSITIVE_INFINITY }
    // Each kind on its own: a failure of one does not keep the other from being purged.
    try {
      const tokens = await purgeExpiredTokens(store, opts)
      if (tokens > 0) logger.debug({ purged: tokens }, 'expired access tokens purged')
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not purge expired access tokens; will retry')
    }
    try {
      const records = await purgeExpiredRecords(store, opts)
      if (records > 0) logger.debug({ purged: records }, 'expired OpenID Connect records purged')
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not purge expired OpenID Connect records; will retry')
    } finally {
      running = false
    }
  }
  const timer = setInterval(() => void tick(), intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** What one purge deletes: what expired at or before `notAfter`, at most `limit` of each kind, `batchSize` per delete. */
export interface PurgeOptions {
  /** Seconds since the epoch. */
  readonly notAfter: number
  readonly batchSize: number
  readonly limit: number
}

/** How many of each kind one purge deleted. */
export interface PurgeResult {
  /** Access and refresh tokens (store.purgeExpiredTokens). */
  readonly tokens: number
  /** OpenID Connect records of every model (store.oidc.purgeExpired). */
  readonly records: number
}

/** Deletes expired tokens, then expired OpenID Connect records; shared by the background janitor and `gatehouse janitor`. */
export async function purgeExpired(store: Store, opts: PurgeOptions): Promise<PurgeResult> {
  const tokens = await purgeExpiredTokens(store, opts)
  const records = await purgeExpiredRecords(store, opts)
  return { tokens, records }
}

/** Deletes expired tokens batch by batch; returns how many. */
export function purgeExpiredTokens(store: Store, opts: PurgeOptions): Promise<number> {
  return inBatches(opts, (notAfter, batch) => store.purgeExpiredTokens(notAfter, batch))
}

/** Deletes expired OpenID Connect records batch by batch; returns how many. */
export function purgeExpiredRecords(store: Store, opts: PurgeOptions): Promise<number> {
  return inBatches(opts, (notAfter, batch) => store.oidc.purgeExpired(notAfter, batch))
}

/** Runs `purge` until a batch comes back short or `limit` is reached; returns how many were deleted. */
async function inBatches(opts: PurgeOptions, purge: (notAfter: number, batch: number) => Promise<number>): Promise<number> {
  let total = 0
  while (total < opts.limit) {
    const batch = Math.min(opts.batchSize, opts.limit - total)
    const n = await purge(opts.notAfter, batch)
    total += n
    if (n < batch) break
    // Let requests in between batches.
    await new Promise((r) => setImmediate(r))
  }
  return total
}
