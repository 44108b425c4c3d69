import { GatehouseError } from '../errors.js'
import type { CompiledRule } from '../rules/compile.js'
import { RuleIndex } from '../rules/rule-index.js'

export interface RuleMatch {
  readonly rule: CompiledRule
  readonly captures: readonly string[]
}

/**
 * An immutable compiled rule set with its index. A reload builds a new RuleSet and swaps the
 * reference, so a request sees the old set or the new one, never a mix.
 */
export class RuleSet {
  readonly #index: RuleIndex<CompiledRule>
  readonly #byId: ReadonlyMap<string, CompiledRule>

  constructor(
    readonly rules: readonly CompiledRule[],
    readonly version: number,
  ) {
    this.#index = new RuleIndex(rules.map((r) => ({ matcher: r.matcher, methods: r.methods, value: r })))
    this.#byId = new Map(rules.map((r) => [r.id, r]))
  }

  get(id: string): CompiledRule | undefined {
    return this.#byId.get(id)
  }

  /** Exactly one rule must match (Oathkeeper's exclusive matching): none → 404, several → 500. */
  match(method: string, url: string): RuleMatch {
    const found = this.#index.find(method, url, 2)
    if (found.length === 1) {
      const m = found[0]!
      return { rule: m.value, captures: m.captures }
    }
    if (found.length === 0) {
      throw new GatehouseError('GATEHOUSE_ERR_NO_RULE', { reason: `no rule matches ${method} ${url}` })
    }
    throw new GatehouseError('GATEHOUSE_ERR_MULTIPLE_RULES', {
      reason: `rules ${found.map((f) => `"${f.value.id}"`).join(' and ')} both match ${method} ${url}`,
    })
  }
}
