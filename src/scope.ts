/**
 * Scope strategies, shared by the gateway's token-checking authenticators and the token server.
 * Same semantics as ORY fosite's (which Hydra and Oathkeeper use), so a scope granted by one is
 * understood by the other:
 * - `exact`: the needle is one of the granted scopes, verbatim.
 * - `hierarchic`: granted `foo` also grants `foo.bar` and `foo.bar.baz`.
 * - `wildcard`: `*` matches exactly one non-empty `.`-separated part (`foo.*.baz`); a trailing
 *   `*` matches one or more remaining parts (`foo.*` grants `foo.bar` and `foo.bar.baz`), whatever
 *   they hold (`foo.bar.`), as fosite's does.
 * - `none`: no check at all (Oathkeeper's meaning).
 */
export type ScopeStrategyName = 'exact' | 'hierarchic' | 'wildcard' | 'none'

/** Does the granted list (`haystack`) satisfy the one requested scope (`needle`)? */
export type ScopeStrategy = (haystack: readonly string[], needle: string) => boolean

export const SCOPE_STRATEGIES: Readonly<Record<ScopeStrategyName, ScopeStrategy>> = {
  exact: (haystack, needle) => haystack.includes(needle),
  hierarchic: (haystack, needle) => haystack.some((s) => needle === s || needle.startsWith(`${s}.`)),
  wildcard: (haystack, needle) => {
    const parts = needle.split('.')
    return haystack.some((granted) => wildcardMatch(granted.split('.'), parts))
  },
  none: () => true,
}

/**
 * fosite's WildcardScopeStrategy, case for case: each matcher part equals the needle's part, or is
 * `*` against a non-empty part; a needle longer than the matcher needs a trailing `*`, and what
 * it covers is not looked at (`api.*` grants `api.read.` and `api.read..x`, as in fosite).
 */
function wildcardMatch(matcher: readonly string[], needle: readonly string[]): boolean {
  if (matcher.length > needle.length) return false
  const last = matcher.length - 1
  if (matcher.length !== needle.length && matcher[last] !== '*') return false
  for (let i = 0; i <= last; i++) {
    const m = matcher[i]!
    if (m === '*' && needle[i] !== '') continue
    if (m !== needle[i]) return false
  }
  return true
}

/** True when every requested scope is satisfied by the granted ones. */
export function allScopesGranted(strategy: ScopeStrategy, granted: readonly string[], requested: readonly string[]): boolean {
  return requested.every((s) => strategy(granted, s))
}

/** Splits a space-delimited scope string (RFC 6749 §3.3), dropping empty entries. */
export function splitScope(scope: string | null | undefined): string[] {
  if (scope === null || scope === undefined || scope === '') return []
  return scope.split(' ').filter((s) => s !== '')
}
