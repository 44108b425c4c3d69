import t from 'tap'

/** tap's type for the pattern `t.throws` takes (from tap itself: @tapjs/asserts is not a dependency of ours). */
type ErrorMatch = Exclude<Parameters<typeof t.throws>[1], string | undefined>

/**
 * An object pattern for `t.throws` and `t.rejects` on fields other than message, name, code, cause
 * or errors (a ConfigError's `problems`, an HTTP client error's `response`). tap matches the error
 * against any object pattern, as `t.match` does; only its typings ask for one of those five keys.
 */
export function errorWith(pattern: Record<string, unknown>): ErrorMatch {
  return pattern as ErrorMatch
}
