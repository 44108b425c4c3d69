import { pino } from 'pino'

type SonicBoom = ReturnType<typeof pino.destination>

/** A batch this long is handed on at once rather than at the end of the turn (sonic-boom's own write size). */
const MAX_BATCH = 16 * 1024
/**
 * How long flush() waits for the writer to catch up. It only runs out when stdout is gone (a
 * broken pipe: sonic-boom then drops what it is given) or stalled; an exit must not hang on that.
 */
const FLUSH_TIMEOUT_MS = 2000

/**
 * Where JSON log lines go in production: the lines logged during one turn of the event loop are
 * joined and handed to an asynchronous sonic-boom writer once, at the end of the turn.
 *
 * Why: under load a turn answers several requests; one write per turn instead of one per line
 * saves a write call, a buffer and sonic-boom's per-line bookkeeping on the request path, and
 * the event loop never waits for stdout (a slow reader costs memory, not latency). A line still
 * leaves at the end of the turn that logged it, so a quiet gateway's logs are not delayed the
 * way a size threshold (sonic-boom's `minLength`) would delay them.
 *
 * Nothing is lost: flush() calls back once everything logged before it is written (graceful
 * exit, crash), and flushSync() writes what is left from an `exit` handler.
 */
export class BatchedDestination {
  readonly #out: SonicBoom
  #batch = ''
  #scheduled = false
  /** Bytes handed to #out, and bytes it reports written: equal when nothing is pending. */
  #handed = 0
  #written = 0

  /** @param fd the file descriptor to write to (1: stdout). */
  constructor(fd: number) {
    this.#out = pino.destination({ dest: fd, sync: false })
    this.#out.on('write', (n: number) => {
      this.#written += n
    })
  }

  /** pino's stream interface: one serialised line, newline included. */
  write(line: string): void {
    this.#batch += line
    if (this.#batch.length >= MAX_BATCH) this.#send()
    else if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.#endOfTurn)
    }
  }

  /**
   * pino's `logger.flush(cb)`: calls back once every line logged so far is written, or after
   * FLUSH_TIMEOUT_MS when the writer cannot catch up.
   */
  flush(cb: (err?: Error) => void = () => {}): void {
    this.#send()
    const target = this.#handed
    if (this.#written >= target) return cb()
    const onWrite = (): void => {
      if (this.#written >= target) done()
    }
    const timer = setTimeout(() => done(), FLUSH_TIMEOUT_MS)
    const done = (): void => {
      clearTimeout(timer)
      this.#out.off('write', onWrite)
      cb()
    }
    // Registered after the constructor's counter, so #written is up to date when this runs.
    this.#out.on('write', onWrite)
  }

  /**
   * Writes what is left synchronously, for an `exit` handler (no more turns of the event loop).
   * A write already under way in the thread pool is not waited for: call flush() first where
   * the event loop still runs.
   */
  flushSync(): void {
    this.#send()
    try {
      this.#out.flushSync()
    } catch {
      // stdout closed or destroyed: there is nowhere left to write to.
    }
  }

  readonly #endOfTurn = (): void => {
    this.#scheduled = false
    this.#send()
  }

  #send(): void {
    if (this.#batch === '') return
    this.#handed += Buffer.byteLength(this.#batch)
    this.#out.write(this.#batch)
    this.#batch = ''
  }
}
