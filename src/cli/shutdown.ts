import type { Logger } from 'pino'

/** What a signal stops: `drain` at once, `close` after the delay. */
export interface Drainable {
  /** `/health/ready` answers 503 and responses say `Connection: close`; the listeners still accept. */
  drain(): void
  /** Stops accepting, lets in-flight requests finish, releases everything. */
  close(): Promise<void>
}

/**
 * Starts a shutdown; `now` skips what is left of the delay (nothing more can arrive, e.g. a
 * cluster worker whose primary, the owner of the listening socket, is gone).
 */
export type BeginShutdown = (reason: string, opts?: { now?: boolean }) => void

/**
 * Shuts down gracefully on SIGINT/SIGTERM: drains at once, keeps accepting for `delayMs` (so a
 * load balancer that has not yet seen the failing readiness check loses no request), then closes;
 * a second signal exits at once. Returns the function that starts the same shutdown for other
 * reasons (a cluster primary's request): calling it while a shutdown is under way does nothing
 * (but honour `now`), so it never counts as that impatient second signal.
 */
export function onShutdown(logger: Logger, target: Drainable, delayMs: number): BeginShutdown {
  let closing = false
  let endDelay: (() => void) | undefined
  const begin: BeginShutdown = (reason, opts = {}) => {
    if (closing) {
      if (opts.now === true) endDelay?.()
      return
    }
    closing = true
    const delay = opts.now === true ? 0 : delayMs
    logger.info({ signal: reason, delay_ms: delay }, 'shutting down')
    target.drain()
    // Connections the kernel has queued but the process not yet taken up when the listeners
    // close are reset: the delay is what lets the load balancer stop sending before that.
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay)
      endDelay = () => {
        clearTimeout(timer)
        resolve()
      }
    })
      .then(() => {
        logger.info('no longer accepting connections; finishing requests in flight')
        return target.close()
      })
      .then(
        () => {
          logger.info('shut down; exiting')
          exitAfterLogs(logger, 0)
        },
        (err: unknown) => {
          logger.error({ err }, 'error during shutdown')
          exitAfterLogs(logger, 1)
        },
      )
  }
  const handler = (signal: NodeJS.Signals): void => {
    if (closing) process.exit(1)
    begin(signal)
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return begin
}

/**
 * Exits once every line logged is written (observability/log-destination.ts writes once per turn
 * of the event loop): the request lines of the last requests in flight, and the line above, are
 * logged in the same turn as the exit.
 */
function exitAfterLogs(logger: Logger, code: number): void {
  logger.flush(() => process.exit(code))
}
