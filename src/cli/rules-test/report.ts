/** Reports of a run: TAP 14 on stdout, JUnit XML for CI systems. */
import type { Difference } from './compare.js'
import { formatDiff } from './compare.js'

export interface CaseResult {
  readonly file: string
  readonly name: string
  readonly ms: number
  /** Empty when the case passed. */
  readonly diffs: readonly Difference[]
  /** Why the gateway refused the request (shown with a failure). */
  readonly reason?: string | undefined
  /** The case could not run (e.g. an unknown key id): reported as a failure. */
  readonly problem?: string | undefined
}

export function passed(r: CaseResult): boolean {
  return r.diffs.length === 0 && r.problem === undefined
}

function detail(r: CaseResult): string[] {
  const lines = r.problem !== undefined ? [`problem: ${r.problem}`] : formatDiff(r.diffs)
  if (r.reason !== undefined) {
    lines.push(`reason: ${r.reason}`)
    // undici's MockAgent names the call it could not answer; say what that means here.
    if (/Mock dispatch not matched/.test(r.reason)) lines.push('hint: no fixture answers this call (method, url and any headers, form or json of the fixture must match)')
  }
  // One line each: the TAP diagnostic is a YAML block, which an unindented line would end.
  return lines.flatMap((l) => l.split(/\r?\n/))
}

export function tapLine(r: CaseResult, n: number): string {
  const head = `${passed(r) ? 'ok' : 'not ok'} ${n} - ${r.file}: ${r.name.replace(/\s+/g, ' ').replace(/#/g, '\\#')}`
  if (passed(r)) return `${head}\n`
  const yaml = ['  ---', `  file: ${JSON.stringify(r.file)}`, '  diff: |', ...detail(r).map((l) => `    ${l}`), '  ...']
  return `${head}\n${yaml.join('\n')}\n`
}

const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }

function xml(s: string): string {
  // Characters XML 1.0 cannot carry at all are dropped rather than escaped.
  return s.replace(/[^\t\n\r\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '').replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!)
}

/** One <testsuite> per case file. */
export function junit(results: readonly CaseResult[]): string {
  const files = [...new Set(results.map((r) => r.file))]
  const suites = files.map((file) => {
    const rs = results.filter((r) => r.file === file)
    const failures = rs.filter((r) => !passed(r)).length
    const time = (rs.reduce((t, r) => t + r.ms, 0) / 1000).toFixed(3)
    const cases = rs.map((r) => {
      const open = `    <testcase classname="${xml(file)}" name="${xml(r.name)}" time="${(r.ms / 1000).toFixed(3)}"`
      if (passed(r)) return `${open}/>`
      const text = detail(r).join('\n')
      return `${open}>\n      <failure message="${xml(r.problem ?? r.diffs.map((d) => d.field).join(', ') + ' differ')}">${xml(text)}</failure>\n    </testcase>`
    })
    return `  <testsuite name="${xml(file)}" tests="${rs.length}" failures="${failures}" errors="0" time="${time}">\n${cases.join('\n')}\n  </testsuite>`
  })
  const failures = results.filter((r) => !passed(r)).length
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="gatehouse rules test" tests="${results.length}" failures="${failures}">\n${suites.join('\n')}\n</testsuites>\n`
}
