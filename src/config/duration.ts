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

const NS_PER_MS = 1_000_000n
/** Go's time.Duration is an int64 of nanoseconds: longer durations do not exist there. */
const MAX_GO_NS = 2n ** 63n - 1n

/**
 * A duration in Go's canonical form (time.Duration's String(): "1h30m0s", "1.5s", "300ms"),
 * as Hydra shows the durations it stored. `ms` is what parseDuration returns; undefined when it
 * is beyond Go's range (about 292 years).
 */
export function formatDuration(ms: number): string | undefined {
  const ns = BigInt(Math.round(ms * 1e6))
  if (ns > MAX_GO_NS || ns < 0n) return undefined
  if (ns === 0n) return '0s'
  if (ns < 1000n * NS_PER_MS) {
    if (ns < 1000n) return `${ns}ns`
    if (ns < NS_PER_MS) return `${fraction(ns, 3)}µs`
    return `${fraction(ns, 6)}ms`
  }
  const seconds = fraction(ns, 9)
  const wholeSeconds = ns / 1_000_000_000n
  const minutes = wholeSeconds / 60n
  const secondsPart = `${(wholeSeconds % 60n).toString()}${seconds.slice(seconds.indexOf('.') === -1 ? seconds.length : seconds.indexOf('.'))}s`
  if (minutes === 0n) return secondsPart
  const hours = minutes / 60n
  return `${hours > 0n ? `${hours}h` : ''}${minutes % 60n}m${secondsPart}`
}

/** `v / 10^digits` as Go's fmtFrac writes it: trailing zeros dropped, no dot when whole. */
function fraction(v: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits)
  const whole = v / scale
  const frac = (v % scale).toString().padStart(digits, '0').replace(/0+$/, '')
  return frac === '' ? whole.toString() : `${whole}.${frac}`
}
