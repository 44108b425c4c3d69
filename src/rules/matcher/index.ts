/**
 * URL matchers for access rules. A pattern is matched against `scheme://host[:port]/path`
 * (never the query); methods are checked by the caller (see RuleIndex).
 */
import { ConfigError } from '../../errors.js'
import type { MatchingStrategy } from '../types.js'
import { compileGlobMatcher } from './glob.js'
import { compileRegexpMatcher, type UrlMatcher } from './regexp.js'

export type { UrlMatcher } from './regexp.js'

/**
 * Compiles a rule's `match.url` once, at load time. Throws a ConfigError naming the pattern when
 * it is malformed (unbalanced `<…>`, invalid regex or glob, RE2 syntax JavaScript would misread)
 * or, for `regexp`, when it could make a single non-matching request take seconds (`(a+)+`, a
 * lookaround in an ambiguous pattern; see backtracking.ts).
 */
export function compileMatcher(strategy: MatchingStrategy, pattern: string): UrlMatcher {
  switch (strategy) {
    case 'regexp':
      return compileRegexpMatcher(pattern)
    case 'glob':
      return compileGlobMatcher(pattern)
    default:
      throw new ConfigError(`unknown matching strategy "${String(strategy)}" (known: regexp, glob)`)
  }
}
