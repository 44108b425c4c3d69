import type { Logger } from 'pino'

/**
 * Closes gracefully on SIGINT/SIGTERM; a second signal exits at once. Returns the function that
 * starts the same shutdown for other reasons (a cluster primary's request): calling it while a
 * shutdown is under way does nothing, so it never counts as that impatient second signal.
 */
export function onShutdown(logger: Logger, close: () => Promise<void>): (reason: string) => void {
  let closing = false
  const begin = (reason: string): void => {
    if (closing) return
    closing = true
    logger.info({ signal: reason }, 'shutting down')
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown')
        process.exit(1)
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
