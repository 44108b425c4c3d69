import { pino, type Logger, type LoggerOptions } from 'pino'
import pretty from 'pino-pretty'

export type { Logger }

export interface LoggerSettings {
  /** pino level name: trace, debug, info, warn, error, fatal, silent. */
  readonly level: string
  /** `json`: one JSON object per line (production); `text`: human-readable lines. */
  readonly format: 'json' | 'text'
}

/**
 * Credentials that must never reach a log line, wherever a headers object is logged:
 * at the top level (`{ headers }`), under `req`/`res`, or one level down (`{ upstream: { headers } }`).
 */
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']
const REDACT_PATHS = ['headers', 'req.headers', 'res.headers', 'request.headers', 'response.headers', '*.headers'].flatMap(
  (prefix) => SECRET_HEADERS.map((h) => `${prefix}["${h}"]`),
)

/**
 * Creates the process logger (pino). Text format runs pino-pretty as a stream in this thread
 * rather than as a transport worker: a worker thread may not flush before a short CLI run exits,
 * and tests could not hand it their destination stream.
 * @param destination where lines go (tests pass a stream); defaults to stdout.
 */
export function createLogger(opts: LoggerSettings, destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }
  if (opts.format === 'text') {
    const stream = pretty({
      destination: destination ?? 1,
      // Synchronous writes to stdout, so nothing is lost when the process exits right after logging.
      sync: destination === undefined,
      colorize: destination === undefined && process.stdout.isTTY === true,
      translateTime: 'SYS:standard',
      ignore: 'pid,hostname',
    })
    return pino(options, stream)
  }
  // Level names ("info") rather than pino's numbers: what Oathkeeper's JSON logs carry, and what
  // log pipelines filter on.
  options.formatters = { level: (label) => ({ level: label }) }
  return destination === undefined ? pino(options) : pino(options, destination)
}
