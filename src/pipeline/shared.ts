/**
 * Resources that many rules' handlers share, owned by one gateway: an introspection cache per
 * (endpoint, settings), a JWKS fetcher per URL, an id_token signer per key file. Handlers ask for
 * them by key in `create`; the first rule creates, later rules (and later reloads) reuse. So a
 * reload keeps caches warm, and nothing lives at module level.
 */
export interface Disposable {
  /** Stops timers, closes clients. Called once, when the gateway closes. */
  dispose?(): void | Promise<void>
}

export class SharedResources {
  readonly #items = new Map<string, unknown>()

  /** The resource under `key`, made by `make` the first time. */
  get<T>(key: string, make: () => T): T {
    if (this.#items.has(key)) return this.#items.get(key) as T
    const value = make()
    this.#items.set(key, value)
    return value
  }

  /** Every shared resource whose key starts with `prefix` (e.g. all id_token key sets for the JWKS endpoint). */
  list<T>(prefix: string): T[] {
    const out: T[] = []
    for (const [k, v] of this.#items) if (k.startsWith(prefix)) out.push(v as T)
    return out
  }

  async close(): Promise<void> {
    const items = [...this.#items.values()]
    this.#items.clear()
    for (const item of items) {
      const d = (item as Disposable | null)?.dispose
      if (typeof d === 'function') await d.call(item)
    }
  }
}
