/**
 * `gatehouse rules lint`: everything `rules validate` finds, plus what only shows when the rules
 * are looked at together — pairs of rules that can match the same request (with a witness),
 * rules that can never match — so that a 500 for an ambiguous request is found in CI, not in
 * production.
 */
import type { GatehouseConfig } from '../config/types.js'
import type { CompiledRule } from './compile.js'
import { analyseOverlaps, type AnalysedRule, type OverlapReport, type Witness } from './overlap.js'
import { loadRuleFiles } from './validate.js'

export type Severity = 'error' | 'warning' | 'info'

export interface LintFinding {
  readonly severity: Severity
  readonly kind: 'invalid' | 'overlap' | 'never-matches' | 'undecided' | 'incomplete'
  readonly message: string
  /** The rules concerned, with the file each comes from. */
  readonly rules: readonly { readonly id: string; readonly source: string }[]
  /** For an overlap: a request both rules match. */
  readonly witness?: Witness
  /** For an overlap settled by `access_rules.precedence: priority`: the rule that answers. */
  readonly winner?: string
}

export interface LintResult {
  readonly findings: readonly LintFinding[]
  readonly rules: number
  readonly pairsAnalysed: number
  readonly errors: number
}

/** Lints rule files; with no paths, the repositories of the config (as the gateway would load them). */
export async function lintRuleFiles(paths: readonly string[], config: GatehouseConfig, opts: { maxPairs?: number } = {}): Promise<LintResult> {
  const sources = paths.length > 0 ? paths : config.access_rules.repositories
  const loaded = await loadRuleFiles(sources, config)
  const findings: LintFinding[] = loaded.problems.map((p) => ({ severity: 'error', kind: 'invalid', message: p, rules: [] }))
  const report = analyseOverlaps(loaded.rules.map(analysedRule), opts)
  findings.push(...overlapFindings(report, config.access_rules.precedence))
  return {
    findings,
    rules: loaded.rules.length,
    pairsAnalysed: report.pairsAnalysed,
    errors: findings.filter((f) => f.severity === 'error').length,
  }
}

export function analysedRule(r: CompiledRule): AnalysedRule {
  return { id: r.id, source: r.source, matcher: r.matcher, methods: r.methods, priority: r.priority }
}

const ref = (r: AnalysedRule): { id: string; source: string } => ({ id: r.id, source: r.source })

/** The findings of an overlap analysis, the same for the CLI, the gateway's log and /rules/status. */
export function overlapFindings(report: OverlapReport, precedence: 'exclusive' | 'priority'): LintFinding[] {
  const out: LintFinding[] = []
  for (const { rule, reason } of report.neverMatches) {
    out.push({ severity: 'error', kind: 'never-matches', message: `rule "${rule.id}" (${rule.source}) can never match: ${reason}`, rules: [ref(rule)] })
  }
  for (const { rules: [a, b], witness } of report.overlaps) {
    const both = `rules "${a.id}" (${a.source}) and "${b.id}" (${b.source}) both match ${witness.method} ${witness.url}`
    if (precedence === 'priority' && a.priority !== b.priority) {
      const winner = a.priority > b.priority ? a : b
      out.push({
        severity: 'info',
        kind: 'overlap',
        message: `${both}; "${winner.id}" wins (priority ${winner.priority} over ${Math.min(a.priority, b.priority)})`,
        rules: [ref(a), ref(b)],
        witness,
        winner: winner.id,
      })
      continue
    }
    const why = precedence === 'priority' ? `with the same priority ${a.priority}, so such a request gets a 500` : 'so such a request gets a 500 (matching is exclusive)'
    out.push({ severity: 'error', kind: 'overlap', message: `${both}, ${why}`, rules: [ref(a), ref(b)], witness })
  }
  for (const { rules: [a, b], reason } of report.undecided) {
    out.push({
      severity: 'warning',
      kind: 'undecided',
      message: `rules "${a.id}" (${a.source}) and "${b.id}" (${b.source}) may overlap: ${reason}`,
      rules: [ref(a), ref(b)],
    })
  }
  if (report.truncated) {
    out.push({ severity: 'warning', kind: 'incomplete', message: `overlap analysis stopped after ${report.pairsAnalysed} pairs of rules`, rules: [] })
  }
  return out
}
