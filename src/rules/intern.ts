/**
 * Compiled parts that many rules share. Rules differ in their URL and seldom in the rest: ten
 * thousand rules typically use a handful of handler configs, method lists and upstreams. A
 * handler's `create` depends only on its config and the gateway's deps, so two rules with the
 * same handler and the same config can run the same function; compiling it once per distinct
 * config (instead of once per rule) saves its closures, its merged config and its objects
 * (a jwt authenticator's key ring, a header mutator's compiled templates) per rule, and the
 * merge and validation at load.
 *
 * The table holds its parts weakly: a part lives as long as a rule in force uses it, so a
 * reload that stops using a config lets it go, and nothing grows with the reloads.
 */
export class InternTable {
  readonly #items = new Map<string, WeakRef<object>>()
  readonly #collected = new FinalizationRegistry<string>((key) => {
    // The key may have been taken by a newer part since: only a dead entry is removed.
    if (this.#items.get(key)?.deref() === undefined) this.#items.delete(key)
  })

  /**
   * The part under `key`, made by `make` when no rule in force holds one, or when the one held
   * is no longer `usable` (it holds resources dropped since; see compile.ts).
   */
  get<T extends object>(key: string, make: () => T, usable: (made: T) => boolean = () => true): T {
    const held = this.#items.get(key)?.deref() as T | undefined
    if (held !== undefined && usable(held)) return held
    const made = make()
    this.#items.set(key, new WeakRef(made))
    this.#collected.register(made, key)
    return made
  }

  /** Parts held now (tests). */
  get size(): number {
    let n = 0
    for (const r of this.#items.values()) if (r.deref() !== undefined) n++
    return n
  }
}
