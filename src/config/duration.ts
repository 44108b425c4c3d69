/** Milliseconds per Go duration unit (time.ParseDuration's units). */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign
  'μs': 1e-3, // U+03BC Greek mu; Go accepts both spellings
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
}

// One "<number><unit>" part. The number needs a digit on at least one side of the dot, as in Go.
const PART = String.raw`(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)`

/**
 * Parses a Go duration string ("300ms", "5s", "1m30s", "1.5h") into milliseconds, so config
 * files written for Oathkeeper keep working. A bare number is rejected (is "30" seconds or
 * milliseconds?), except "0", which Go also accepts. Negative durations are rejected: every
 * duration in the config is a timeout or an interval.
 * @throws Error naming the input when it is not a valid duration.
 */
export function parseDuration(s: string): number {
  const input = s.startsWith('+') ? s.slice(1) : s
  if (input === '0') return 0
  if (input === '') throw new Error(`invalid duration "${s}": empty`)
  if (input.startsWith('-')) throw new Error(`invalid duration "${s}": must not be negative`)
  // A fresh sticky regexp per call: its lastIndex is state, which must not be shared.
  const part = new RegExp(PART, 'y')
  let total = 0
  let pos = 0
  while (pos < input.length) {
    part.lastIndex = pos
    const m = part.exec(input)
    if (m === null) {
      const hint = /^\d+(\.\d*)?$/.test(input) ? ': missing unit (e.g. "5s", "300ms")' : ''
      throw new Error(`invalid duration "${s}"${hint}`)
    }
    total += Number(m[1]) * UNIT_MS[m[2]!]!
    pos = part.lastIndex
  }
  if (!Number.isFinite(total)) throw new Error(`invalid duration "${s}": too large`)
  return total
}

/** True when `s` is a valid duration for parseDuration (used by the config schema's format). */
export function isDuration(s: string): boolean {
  try {
    parseDuration(s)
    return true
  } catch {
    return false
  }
}
