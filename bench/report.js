// What bench/run.js prints at the end: per target, the figures of its runs combined; ratios of
// throughput and latency; introspection calls per request; issue 10's table (summary.js).
import { issueSummary } from './summary.js'

/**
 * @typedef {{ rps: number, latencyMean: number, p99: number, total: number, non2xx: number, errors: number,
 *   maxRssMiB: number | undefined, cpu: number | undefined, perCore: number | undefined,
 *   introspections: number | undefined }} Run one measured run of a target (bench/run.js); undefined where not measured
 */

/**
 * One target's runs (two with A B B A) as one row: throughput, requests per CPU-second and
 * latencies averaged, the largest RSS, failures summed, and how far the runs' throughputs (and
 * requests per CPU-second) are apart: the run's noise.
 * @param {Run[]} runs
 */
export function combineRuns(runs) {
  const mean = (f) => runs.reduce((s, r) => s + f(r), 0) / runs.length
  const defined = (f) => runs.map(f).filter((v) => v !== undefined)
  // Max minus min over the mean: 0 when the runs agree; undefined for a single run.
  const apart = (values) => {
    if (values.length < 2) return undefined
    const m = values.reduce((s, v) => s + v, 0) / values.length
    return m === 0 ? undefined : (Math.max(...values) - Math.min(...values)) / m
  }
  const rss = defined((r) => r.maxRssMiB)
  const cpu = defined((r) => r.cpu)
  const perCore = defined((r) => r.perCore)
  const counted = runs.filter((r) => r.introspections !== undefined)
  return {
    rps: mean((r) => r.rps),
    spread: apart(runs.map((r) => r.rps)),
    // Only when every run has it: a mean over some runs would not be comparable.
    perCore: perCore.length === runs.length ? perCore.reduce((s, v) => s + v, 0) / runs.length : undefined,
    perCoreSpread: perCore.length === runs.length ? apart(perCore) : undefined,
    latencyMean: mean((r) => r.latencyMean),
    p99: mean((r) => r.p99),
    total: runs.reduce((s, r) => s + r.total, 0),
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    maxRssMiB: rss.length === 0 ? undefined : Math.max(...rss),
    cpu: cpu.length === 0 ? undefined : cpu.reduce((s, v) => s + v, 0) / cpu.length,
    introspections: counted.length === 0 ? undefined : { calls: counted.reduce((s, r) => s + r.introspections, 0), requests: counted.reduce((s, r) => s + r.total, 0) },
  }
}

/** Ratios printed when both targets ran: [numerator, denominator]. */
const RATIOS = [
  ['gateway', 'bare'],
  ['gateway', 'nginx'],
  ['bare', 'direct'],
  ['gateway-info', 'gateway'],
  ['rules-10', 'gateway'],
  ['rules-10k', 'gateway'],
  ['introspection-hit', 'gateway'],
  ['introspection-miss', 'gateway'],
  ['jwt', 'gateway'],
  ['jwt-first-seen', 'gateway'],
  ['jwt-first-seen', 'jwt'],
]

export function printReport(results, { duration, connections, logLevel, passes, layout, rulesSmall, rulesLarge }) {
  const order = passes > 1 ? 'A B B A: each target twice, the figures are the mean of both runs' : 'each target once'
  console.log(`\n${duration}s per target (jwt-first-seen: a fixed number of requests), ${connections} connections, gateway log level ${logLevel}, ${order}, Node ${process.version}`)
  if (layout !== undefined) console.log(`cores: load generator ${layout.load}, upstream and token server ${layout.servers}, measured proxy ${layout.proxy}`)
  // autocannon's percentiles are whole milliseconds (p50 is often 0 on loopback); the mean is
  // fractional, so ratios use mean and p99. cpu: share of one core the measured process used;
  // req/cpu-s: requests per CPU-second it used (both from /proc).
  const pct = (v) => (v === undefined ? '-' : `${(v * 100).toFixed(0)}%`)
  const rows = [['target', 'req/s', 'apart', 'req/cpu-s', 'apart', 'mean ms', 'p99 ms', 'cpu', 'max RSS MiB', 'non-2xx', 'errors']]
  for (const [name, r] of Object.entries(results)) {
    rows.push([
      name,
      String(Math.round(r.rps)),
      pct(r.spread),
      r.perCore === undefined ? '-' : String(Math.round(r.perCore)),
      pct(r.perCoreSpread),
      r.latencyMean.toFixed(2),
      r.p99.toFixed(0),
      r.cpu === undefined ? '-' : r.cpu.toFixed(2),
      r.maxRssMiB === undefined ? '-' : r.maxRssMiB.toFixed(0),
      String(r.non2xx),
      String(r.errors),
    ])
  }
  console.log(`\n${table(rows)}`)

  const ratios = RATIOS.filter(([a, b]) => results[a] && results[b])
  if (ratios.length > 0) {
    const out = [['ratio', 'req/s', 'req/cpu-s', 'mean latency', 'p99 latency']]
    for (const [a, b] of ratios) {
      const ra = results[a]
      const rb = results[b]
      const perCore = ra.perCore === undefined || rb.perCore === undefined ? 'n/a' : ratio(ra.perCore, rb.perCore)
      out.push([`${a}/${b}`, ratio(ra.rps, rb.rps), perCore, ratio(ra.latencyMean, rb.latencyMean), ratio(ra.p99, rb.p99)])
    }
    console.log(`\n${table(out)}`)
  }

  const counted = Object.entries(results).filter(([, r]) => r.introspections !== undefined)
  if (counted.length > 0) console.log('')
  for (const [name, { introspections: i }] of counted) {
    console.log(`${name}: ${i.calls} introspection calls for ${i.requests} requests (${(i.calls / Math.max(i.requests, 1)).toFixed(2)} per request)`)
  }

  const summary = issueSummary(results, { logLevel, rulesSmall, rulesLarge })
  console.log('\nissue 10 (ratios of requests per CPU-second of the measured process: its speed per core)\n')
  console.log(table([['what', 'this run', 'goal', 'verdict', 'note'], ...summary.map((r) => [r.what, r.value, r.goal, r.verdict, r.note ?? ''])], { left: [0, 4] }))
  if (Object.values(results).some((r) => r.non2xx > 0 || r.errors > 0)) console.log('\nwarning: some requests failed; the numbers above are not comparable')
}

function ratio(a, b) {
  return b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a'
}

/** Columns padded to their widest cell; the first (and those in `left`) left-aligned, the others right-aligned. */
function table(rows, { left = [0] } = {}) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  const line = (r) =>
    r
      .map((c, i) => (left.includes(i) ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')
}
