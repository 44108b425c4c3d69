import type { ErrorMatch } from '@tapjs/asserts'

/**
 * An object pattern for `t.throws` and `t.rejects` on fields other than message, name, code, cause
 * or errors (a ConfigError's `problems`, an HTTP client error's `response`). tap matches the error
 * against any object pattern, as `t.match` does; only its typings ask for one of those five keys.
 */
export function errorWith(pattern: Record<string, unknown>): ErrorMatch {
  return pattern as ErrorMatch
}
