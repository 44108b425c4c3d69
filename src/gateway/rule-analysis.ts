/**
 * The gateway's own `rules lint`: every published rule set is checked for rules that can match
 * the same request (and rules that can never match), so that the log and `/rules/status` name
 * the clash, with a request that shows it, before a user meets it as a 500.
 *
 * The analysis runs after the set is swapped in, in slices that yield to the event loop, so a
 * reload is never held up by it and requests keep flowing; a newer set cancels the analysis of
 * an older one. Its work is bounded (MAX_PAIRS pairs after pruning); when the bound cuts it
 * short, the log says so.
 */
import type { Logger } from 'pino'
import type { CompiledRule } from '../rules/compile.js'
import { analysedRule, overlapFindings, type LintFinding } from '../rules/lint.js'
import { analyseOverlapsInSlices } from '../rules/overlap.js'

/** Pairs intersected per rule set at most (about two seconds of CPU, spread over slices). */
const MAX_PAIRS = 50_000
/** Work per slice before requests get their turn. */
const SLICE_MS = 10

export class RuleAnalysis {
  readonly #logger: Logger
  readonly #precedence: 'exclusive' | 'priority'
  #latest = -1
  #findings: readonly LintFinding[] = []
  /** Messages already logged: a finding is logged once, not again on each reload that keeps it. */
  readonly #logged = new Set<string>()
  #running: Promise<void> = Promise.resolve()
  #closed = false

  constructor(logger: Logger, precedence: 'exclusive' | 'priority') {
    this.#logger = logger
    this.#precedence = precedence
  }

  /** Starts the analysis of a newly published set (its version must increase). */
  published(rules: readonly CompiledRule[], version: number): void {
    this.#latest = version
    const stale = (): boolean => this.#closed || this.#latest !== version
    this.#running = this.#running.then(async () => {
      if (stale()) return
      try {
        const report = await analyseOverlapsInSlices(rules.map(analysedRule), { maxPairs: MAX_PAIRS, sliceMs: SLICE_MS, stale })
        if (report === undefined || stale()) return
        this.#publish(overlapFindings(report, this.#precedence), version)
      } catch (err) {
        // The analysis only reports; it must never take the gateway down.
        this.#logger.error({ err, version }, 'the overlap analysis of the access rules failed')
      }
    })
  }

  /** The findings of the latest analysed set that concern a rule of `source`. */
  findingsFor(source: string): LintFinding[] {
    return this.#findings.filter((f) => f.rules.some((r) => r.source === source))
  }

  /** Stops the analysis in progress at its next slice; later sets are not analysed. */
  close(): void {
    this.#closed = true
  }

  /** Resolves once the analysis of every set published so far has finished (for tests and shutdown). */
  settled(): Promise<void> {
    return this.#running
  }

  #publish(findings: readonly LintFinding[], version: number): void {
    this.#findings = findings
    for (const f of findings) {
      if (this.#logged.has(f.message)) continue
      this.#logged.add(f.message)
      const fields = { version, rules: f.rules, witness: f.witness, winner: f.winner, kind: f.kind }
      if (f.severity === 'info') this.#logger.info(fields, f.message)
      else this.#logger.warn(fields, f.message)
    }
    // Forget what is gone, so that a clash fixed and brought back is logged again.
    const current = new Set(findings.map((f) => f.message))
    for (const m of this.#logged) if (!current.has(m)) this.#logged.delete(m)
  }
}
