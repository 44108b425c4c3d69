import type { Expectation, HeaderExpectation } from './cases.js'
import type { Outcome } from './run-case.js'

/** One field where the outcome differs from the expectation. */
export interface Difference {
  readonly field: string
  readonly expected: unknown
  readonly actual: unknown
}

/** Compares only what the case states: an expectation names what matters to it. */
export function compare(expect: Expectation, actual: Outcome): Difference[] {
  const out: Difference[] = []
  const eq = (field: string, want: unknown, got: unknown): void => {
    if (want !== undefined && want !== got) out.push({ field, expected: want, actual: got ?? null })
  }
  eq('status', expect.status, actual.status)
  eq('rule', expect.rule, actual.rule)
  eq('subject', expect.subject, actual.subject)
  eq('redirect', expect.redirect, actual.redirect)
  eq('error_handler', expect.error_handler, actual.error_handler)
  eq('error', expect.error, actual.error)
  const up = expect.upstream
  if (up !== undefined) {
    if (actual.upstream === undefined) {
      out.push({ field: 'upstream', expected: up, actual: null })
      return out
    }
    eq('upstream.url', up.url, actual.upstream.url)
    for (const [name, want] of Object.entries(up.headers ?? {})) {
      const got = actual.upstream.headers[name.toLowerCase()]
      if (!headerMatches(want, got)) out.push({ field: `upstream.headers.${name}`, expected: want, actual: got ?? null })
    }
  }
  return out
}

function headerMatches(want: HeaderExpectation, got: string | undefined): boolean {
  if (want === null) return got === undefined
  if (typeof want === 'string') return got === want
  return got !== undefined && new RegExp(want.matches).test(got)
}

/** The differences as a diff: `-` what the case expects, `+` what happened. */
export function formatDiff(diffs: readonly Difference[]): string[] {
  const lines = ['--- expected', '+++ actual']
  for (const d of diffs) {
    lines.push(`- ${d.field}: ${JSON.stringify(d.expected)}`, `+ ${d.field}: ${JSON.stringify(d.actual)}`)
  }
  return lines
}
