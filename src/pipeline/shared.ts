/**
 * Resources that many rules' handlers share, owned by one gateway: an introspection cache per
 * (endpoint, settings), a JWKS fetcher per URL, an id_token signer per key file. Handlers ask for
 * them by key in `create`; the first rule creates, later rules (and later reloads) reuse. So a
 * reload keeps caches warm, and nothing lives at module level. A resource no rule uses any more
 * is dropped after the reload that left it unused (see sweep), so reloads do not pile them up.
 */
import type { Logger } from 'pino'

export interface Disposable {
  /** Stops timers, closes clients. Called once, when the resource is dropped or the gateway closes. */
  dispose?(): void | Promise<void>
}

/** Registers what runs when the resource being made is dropped (e.g. taking it out of the metrics). */
export type OnRelease = (undo: () => void) => void

interface Entry {
  readonly value: unknown
  readonly undo: Array<() => void>
}

export interface SharedResourcesOptions {
  /**
   * How long a dropped resource stays usable before it is disposed: requests that matched a rule
   * of the previous set may still be using it. Default 30 s, longer than any handler waits on one.
   */
  readonly releaseGraceMs?: number
  /** Where a dropped resource that fails to close is reported. */
  readonly logger?: Logger
}

export class SharedResources {
  readonly #items = new Map<string, Entry>()
  readonly #graceMs: number
  readonly #logger: Logger | undefined
  /** Disposals waiting out the grace; done at once by close(). */
  readonly #dropped = new Map<NodeJS.Timeout, unknown>()
  /** Where get() notes keys while collect() runs. */
  #used: Set<string> | undefined

  constructor(opts: SharedResourcesOptions = {}) {
    this.#graceMs = opts.releaseGraceMs ?? 30_000
    this.#logger = opts.logger
  }

  /**
   * The resource under `key`, made by `make` the first time. `make` may register, through its
   * argument, what to undo when the resource is dropped.
   */
  get<T>(key: string, make: (onRelease: OnRelease) => T): T {
    this.#used?.add(key)
    const found = this.#items.get(key)
    if (found !== undefined) return found.value as T
    const undo: Array<() => void> = []
    const value = make((fn) => undo.push(fn))
    this.#items.set(key, { value, undo })
    return value
  }

  /**
   * Runs `fn` (a handler's `create`, which is synchronous) and adds to `used` the key of every
   * resource it gets: what the handler it makes holds, so that a sweep knows it is in use.
   */
  collect<T>(used: Set<string>, fn: () => T): T {
    const outer = this.#used
    this.#used = used
    try {
      return fn()
    } finally {
      this.#used = outer
    }
  }

  /**
   * Drops every resource whose key is not in `live` (the keys the handlers in force collected):
   * its release hooks run now, and it is disposed once the grace is over. A later rule asking for
   * the same key gets a new one. Returns the keys dropped.
   */
  sweep(live: ReadonlySet<string>): string[] {
    const gone: string[] = []
    for (const [key, entry] of this.#items) {
      if (live.has(key)) continue
      this.#items.delete(key)
      gone.push(key)
      runUndo(entry)
      const timer = setTimeout(() => {
        this.#dropped.delete(timer)
        // Best effort: a dropped resource that fails to close must not take the gateway down.
        disposeOf(entry.value).catch((err: unknown) => this.#logger?.warn({ err, resource: key }, 'closing an unused shared resource failed'))
      }, this.#graceMs)
      timer.unref()
      this.#dropped.set(timer, entry.value)
    }
    return gone
  }

  /** Whether a resource is held under `key` (not dropped by a sweep since it was made). */
  has(key: string): boolean {
    return this.#items.has(key)
  }

  /** The keys held now, for tests and debugging. */
  keys(): string[] {
    return [...this.#items.keys()]
  }

  /** Every shared resource whose key starts with `prefix`; for tests (handlers and the gateway use typed hooks). */
  list<T>(prefix: string): T[] {
    const out: T[] = []
    for (const [k, v] of this.#items) if (k.startsWith(prefix)) out.push(v.value as T)
    return out
  }

  async close(): Promise<void> {
    const entries = [...this.#items.values()]
    this.#items.clear()
    const dropped = [...this.#dropped]
    this.#dropped.clear()
    for (const [timer] of dropped) clearTimeout(timer)
    for (const entry of entries) runUndo(entry)
    for (const value of [...entries.map((e) => e.value), ...dropped.map(([, v]) => v)]) await disposeOf(value)
  }
}

function runUndo(entry: Entry): void {
  for (const fn of entry.undo.splice(0)) fn()
}

async function disposeOf(value: unknown): Promise<void> {
  const d = (value as Disposable | null)?.dispose
  if (typeof d === 'function') await d.call(value)
}
