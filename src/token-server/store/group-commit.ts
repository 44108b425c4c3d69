/**
 * What a batch writer reports for each item: undefined when it was written, or the error that
 * kept this one item out (the others are still written). Rejecting fails the whole batch.
 */
export type ItemOutcome = Error | undefined

interface Waiter<T> {
  readonly item: T
  readonly resolve: () => void
  readonly reject: (err: unknown) => void
}

/** The most items one batch carries by default; see GroupCommit's constructor. */
export const DEFAULT_MAX_BATCH = 512

/**
 * Group commit: items are written in batches, each by one call to `write`, which runs them in
 * one transaction. With a synchronous fsync per commit (SQLite `synchronous=FULL`) one commit
 * per token would cap issuance at the disk's fsync rate; one commit per batch shares that fsync
 * between every request that arrived meanwhile.
 *
 * One batch is in flight at a time: what arrives while it commits waits and goes out as the next
 * batch the moment it is done, so batches grow with the load and with the disk's latency rather
 * than one small commit per loop turn queueing behind another.
 *
 * The first flush after a quiet spell is scheduled with setImmediate rather than queueMicrotask:
 * setImmediate runs after the poll phase, so every request whose bytes arrived in this loop
 * iteration joins the batch; a microtask would flush after the first request's handler and batch
 * almost nothing.
 */
export class GroupCommit<T> {
  #queue: Waiter<T>[] = []
  #scheduled: NodeJS.Immediate | undefined
  #inFlight = 0

  /**
   * @param write runs one batch in one transaction; see ItemOutcome.
   * @param maxBatch the most items per batch: bounds one transaction and one message to the
   *   writer, however many requests a burst brings.
   */
  constructor(
    private readonly write: (items: readonly T[]) => Promise<readonly ItemOutcome[]>,
    private readonly maxBatch = DEFAULT_MAX_BATCH,
  ) {}

  /** Queues one item; resolves once the batch holding it is committed. */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      if (this.#inFlight === 0) this.#scheduled ??= setImmediate(() => this.flush())
    })
  }

  /** How many items wait to be sent (not counting the batches in flight). */
  get pending(): number {
    return this.#queue.length
  }

  /**
   * Sends what is queued now, in batches of at most maxBatch, even while another batch is in
   * flight. Also called directly before an operation that must come after the queued items
   * (deleting tokens, closing): the writer runs what it is given in order.
   */
  flush(): void {
    if (this.#scheduled !== undefined) {
      clearImmediate(this.#scheduled)
      this.#scheduled = undefined
    }
    while (this.#queue.length > 0) this.#send(this.#queue.splice(0, this.maxBatch))
  }

  #send(batch: readonly Waiter<T>[]): void {
    this.#inFlight++
    let written: Promise<readonly ItemOutcome[]>
    try {
      written = this.write(batch.map((w) => w.item))
    } catch (err) {
      written = Promise.reject(err)
    }
    written
      .then(
        (outcomes) =>
          batch.forEach((w, i) => {
            const err = outcomes[i]
            if (err === undefined) w.resolve()
            else w.reject(err)
          }),
        (err: unknown) => {
          for (const w of batch) w.reject(err)
        },
      )
      .finally(() => {
        this.#inFlight--
        if (this.#inFlight === 0) this.flush()
      })
  }
}
