import { ConfigError } from '../errors.js'

/** The handlers of one kind, by id. An unknown id is an error that lists the known ones. */
export class Registry<D extends { readonly id: string }> {
  readonly #byId: ReadonlyMap<string, D>

  constructor(
    readonly kind: string,
    defs: readonly D[],
  ) {
    this.#byId = new Map(defs.map((d) => [d.id, d]))
  }

  get(id: string): D {
    const def = this.#byId.get(id)
    if (def === undefined) {
      throw new ConfigError(`unknown ${this.kind} handler "${id}" (known: ${this.ids().join(', ')})`)
    }
    return def
  }

  has(id: string): boolean {
    return this.#byId.has(id)
  }

  ids(): string[] {
    return [...this.#byId.keys()]
  }
}
