/**
 * Scope strategies, shared by the gateway's token-checking authenticators and the token server.
 * Same semantics as ORY fosite's (which Hydra and Oathkeeper use), so a scope granted by one is
 * understood by the other:
 * - `exact`: the needle is one of the granted scopes, verbatim.
 * - `hierarchic`: granted `foo` also grants `foo.bar` and `foo.bar.baz`.
 * - `wildcard`: `*` matches exactly one non-empty `.`-separated part (`foo.*.baz`); a trailing
 *   `*` matches one or more remaining parts (`foo.*` grants `foo.bar` and `foo.bar.baz`).
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

function wildcardMatch(matcher: readonly string[], needle: readonly string[]): boolean {
  if (matcher.length > needle.length) return false
  const last = matcher.length - 1
  // Only a trailing `*` may stand for more than one part.
  if (matcher.length !== needle.length && matcher[last] !== '*') return false
  for (let i = 0; i <= last; i++) {
    const m = matcher[i]!
    if (m === '*') {
      if (needle[i] === '') return false
      if (i === last) return needle.slice(i).every((p) => p !== '')
      continue
    }
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
