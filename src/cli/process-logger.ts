import type { Logger, LoggerSettings } from '../observability/logger.js'

/**
 * The logger of a long-running verb (serve, token-server serve, quickstart, example echo), with
 * the process-wide duties that come with owning stdout:
 * - lines not yet written when the process exits (process.exit anywhere) are written
 *   synchronously from the `exit` event;
 * - an uncaught exception (or an unhandled rejection, which Node turns into one) is logged as a
 *   `fatal` line with its stack, every line before it is written, and the process exits 1, as
 *   Node would have. Without this the crash would only reach stderr, and the lines of the last
 *   turns before it could be lost.
 */
export async function processLogger(settings: LoggerSettings): Promise<Logger> {
  // Loaded here, not at the top: the verbs that do not serve start faster without pino.
  const { createLogger, flushLogsSync } = await import('../observability/logger.js')
  const logger = createLogger(settings)
  process.on('exit', () => flushLogsSync(logger))
  let crashed = false
  process.on('uncaughtException', (err, origin) => {
    // A second error while the first is being written: the first is the one to report.
    if (crashed) return
    crashed = true
    logger.fatal({ err, origin }, 'crashed: uncaught exception; exiting')
    // With the log level above fatal (silent), say it where Node would have.
    if (!logger.isLevelEnabled('fatal')) process.stderr.write(`${err.stack ?? String(err)}\n`)
    logger.flush(() => process.exit(1))
  })
  return logger
}
