import { pino } from 'pino'

type SonicBoom = ReturnType<typeof pino.destination>

/** A batch this long is written at once rather than at the end of the turn (sonic-boom's own write size). */
const MAX_BATCH = 16 * 1024

/**
 * Where JSON log lines go in production: the lines logged during one turn of the event loop are
 * joined and written with one write call at the end of the turn (setImmediate).
 *
 * Why batch: under load a turn answers several requests, and a write call (with sonic-boom's
 * per-line bookkeeping) per line was most of what a request's log line cost. A line still
 * leaves at the end of the turn that logged it, so a quiet gateway's logs are not delayed the
 * way a size threshold (sonic-boom's `minLength`) would delay them.
 *
 * Why the write itself is synchronous (as Node's own process.stdout is for pipes and files on
 * Linux): no write is ever under way in the thread pool, so what is left can always be written
 * at exit, in order. With sonic-boom's asynchronous mode, an exit while a write waited on a full
 * pipe wrote the later lines first (found by test/process-logger.test.ts on a busy machine), and
 * a crash could only wait or lose lines. The cost is that a log reader that stops reading
 * stalls the process once the pipe is full, rather than letting it buffer without bound.
 */
export class BatchedDestination {
  readonly #out: SonicBoom
  #batch = ''
  #scheduled = false

  /** @param fd the file descriptor to write to (1: stdout). */
  constructor(fd: number) {
    this.#out = pino.destination({ dest: fd, sync: true })
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

  /** pino's `logger.flush(cb)`: writes what this turn has logged so far, then calls back. */
  flush(cb: (err?: Error) => void = () => {}): void {
    this.flushSync()
    cb()
  }

  /** Writes what this turn has logged so far: for an `exit` handler, where no callback would run. */
  flushSync(): void {
    try {
      this.#send()
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
    const batch = this.#batch
    this.#batch = ''
    this.#out.write(batch)
  }
}
