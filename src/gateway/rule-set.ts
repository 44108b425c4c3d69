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

  readonly #byPriority: boolean

  /**
   * @param precedence `exclusive` (Oathkeeper): several matching rules are a 500. `priority`:
   *   the highest `priority` answers, several at that priority are a 500.
   */
  constructor(
    readonly rules: readonly CompiledRule[],
    readonly version: number,
    precedence: 'exclusive' | 'priority' = 'exclusive',
  ) {
    this.#byPriority = precedence === 'priority'
    // Under priority the index holds the rules highest priority first (sort is stable: equal
    // priorities keep file order). Its lookup returns matches in that order, so the first two
    // matches decide: a higher first one wins over every other match, an equal one is a tie.
    // The lookup itself is unchanged: still at most two matches, no per-request sorting.
    const ordered = this.#byPriority ? rules.slice().sort((a, b) => b.priority - a.priority) : rules
    this.#index = new RuleIndex(ordered.map((r) => ({ matcher: r.matcher, methods: r.methods, value: r })))
    this.#byId = new Map(rules.map((r) => [r.id, r]))
  }

  get(id: string): CompiledRule | undefined {
    return this.#byId.get(id)
  }

  /**
   * Exactly one rule must match (Oathkeeper's exclusive matching): none → 404, several → 500.
   * Under priority precedence, the one of highest priority; a tie there → 500.
   */
  match(method: string, url: string): RuleMatch {
    const found = this.#index.find(method, url, 2)
    if (found.length === 1 || (found.length === 2 && this.#byPriority && found[0]!.value.priority > found[1]!.value.priority)) {
      const m = found[0]!
      return { rule: m.value, captures: m.captures }
    }
    if (found.length === 0) {
      throw new GatehouseError('GATEHOUSE_ERR_NO_RULE', { reason: `no rule matches ${method} ${url}` })
    }
    throw new GatehouseError('GATEHOUSE_ERR_MULTIPLE_RULES', {
      reason:
        `rules ${found.map((f) => `"${f.value.id}"`).join(' and ')} both match ${method} ${url}` +
        (this.#byPriority ? ` with the same priority ${found[0]!.value.priority}` : ''),
    })
  }
}
