/** A handler reference in a rule: `{ handler: 'jwt', config: {...} }`. */
export interface HandlerRef {
  readonly handler: string
  readonly config?: Readonly<Record<string, unknown>>
}

/** An access rule in Oathkeeper's format, as read from a rule file. */
export interface RuleSpec {
  readonly id: string
  readonly version?: string
  readonly description?: string
  /**
   * With `access_rules.precedence: priority`, of several matching rules the one with the highest
   * priority answers (default 0); ignored under the default exclusive matching.
   */
  readonly priority?: number
  readonly match: {
    /** URL pattern `scheme://host[:port]/path` with `<…>` parts (regexp or glob). */
    readonly url: string
    /** Allowed methods; empty or missing means none match (as Oathkeeper). */
    readonly methods?: readonly string[]
  }
  readonly upstream?: {
    readonly url?: string
    readonly preserve_host?: boolean
    readonly strip_path?: string
  }
  readonly authenticators?: readonly HandlerRef[]
  readonly authorizer?: HandlerRef
  readonly mutators?: readonly HandlerRef[]
  readonly errors?: readonly HandlerRef[]
  /** Written by Oathkeeper Maester (the ConfigMap a Rule manifest asked for); has no effect on the rule. */
  readonly configMapName?: string
}

export type MatchingStrategy = 'regexp' | 'glob'
