/**
 * What a batch writer reports for each item: undefined when it was written, or the error that
 * kept this one item out (the others are still written). Throwing fails the whole batch.
 */
export type ItemOutcome = Error | undefined

interface Waiter<T> {
  readonly item: T
  readonly resolve: () => void
  readonly reject: (err: unknown) => void
}

/**
 * Group commit: items added in the same event-loop turn are written together, by one call to
 * `write`, which runs them in one transaction. With a synchronous fsync per commit
 * (SQLite `synchronous=FULL`) one commit per token would cap issuance at the disk's fsync rate;
 * one commit per batch shares that fsync between every request that arrived meanwhile.
 *
 * The flush is scheduled with setImmediate rather than queueMicrotask: setImmediate runs after
 * the poll phase, so every request whose bytes arrived in this loop iteration joins the batch;
 * a microtask would flush after the first request's handler and batch almost nothing.
 */
export class GroupCommit<T> {
  #queue: Waiter<T>[] = []
  #scheduled: NodeJS.Immediate | undefined

  /** @param write runs one batch in one transaction; see ItemOutcome. */
  constructor(private readonly write: (items: readonly T[]) => readonly ItemOutcome[]) {}

  /** Queues one item; resolves once the batch holding it is committed. */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      this.#scheduled ??= setImmediate(() => this.flush())
    })
  }

  /** How many items wait for the next flush. */
  get pending(): number {
    return this.#queue.length
  }

  /**
   * Writes what is queued now. Also called directly before an operation that must see the
   * queued items (deleting tokens, closing), so operations take effect in the order they were called.
   */
  flush(): void {
    if (this.#scheduled !== undefined) {
      clearImmediate(this.#scheduled)
      this.#scheduled = undefined
    }
    const batch = this.#queue
    if (batch.length === 0) return
    this.#queue = []
    let outcomes: readonly ItemOutcome[]
    try {
      outcomes = this.write(batch.map((w) => w.item))
    } catch (err) {
      for (const w of batch) w.reject(err)
      return
    }
    batch.forEach((w, i) => {
      const err = outcomes[i]
      if (err === undefined) w.resolve()
      else w.reject(err)
    })
  }
}
