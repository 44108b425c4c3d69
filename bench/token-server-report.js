// The report of bench/token-server.js: medians per store, build and scenario, the OpenID Connect
// grants beside client credentials, and current / baseline when two builds ran. See bench/README.md.

/** Hydra's published figures on 2 CPUs, printed for scale (other hardware: an order of magnitude). */
const HYDRA = { token: 513, introspect: 5109 }
/** The goal for p99 / mean latency at 128 connections. */
const TAIL_GOAL = 10

/**
 * One row per store, build and scenario: the median of its runs (a busy machine makes single runs
 * swing), p99/mean the median of each run's ratio; then current/baseline, the median of the
 * ratios of runs next to each other (each A B B A round gives two pairs).
 */
export function printReport(results, { duration, connections, builds, codes }) {
  const groups = new Map()
  for (const r of results) {
    const key = `${r.store}\0${r.build}\0${r.scenario}`
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key).push(r)
  }
  const rows = [...groups.values()].map((runs) => ({
    ...runs[0],
    rps: median(runs.map((r) => r.rps)),
    mean: median(runs.map((r) => r.mean)),
    p99: median(runs.map((r) => r.p99)),
    p999: median(runs.map((r) => r.p999)),
    max: median(runs.map((r) => r.max)),
    tail: median(runs.map((r) => r.p99 / r.mean)),
    tails: runs.map((r) => r.p99 / r.mean),
    cpuPerK: median(runs.map((r) => r.cpuPerK)),
    failed: runs.reduce((n, r) => n + r.failed, 0),
    runs,
  }))
  console.log(`\ntoken server, ${connections} connections, ${duration} s per run (authorization_code: ${codes} codes per run), median of ${rows[0]?.runs.length ?? 0} run(s) (Hydra: published figures on 2 CPUs)\n`)
  const several = builds.length > 1
  const table = [['store', ...(several ? ['build'] : []), 'scenario', 'req/s', 'mean ms', 'p99 ms', 'p99/mean', 'p99.9 ms', 'max ms', 'CPU ms/1k', 'failed', 'Hydra req/s', '× Hydra']]
  for (const r of rows) {
    table.push([
      r.store,
      ...(several ? [r.build] : []),
      r.scenario,
      String(Math.round(r.rps)),
      r.mean.toFixed(1),
      String(Math.round(r.p99)),
      `${r.tail.toFixed(1)}×`,
      String(Math.round(r.p999)),
      String(Math.round(r.max)),
      Number.isNaN(r.cpuPerK) ? '-' : r.cpuPerK.toFixed(0),
      String(r.failed),
      HYDRA[r.scenario] === undefined ? '-' : String(HYDRA[r.scenario]),
      HYDRA[r.scenario] === undefined ? '-' : `${(r.rps / HYDRA[r.scenario]).toFixed(1)}×`,
    ])
  }
  printTable(table)
  console.log(`\np99/mean: goal ≤ ${TAIL_GOAL}× at 128 connections (issue 10); p99.9 and max show the longest stalls;`)
  console.log(`CPU ms/1k: the server's CPU time (all threads) per 1,000 answers`)
  printGrantRatios(rows)
  if (!several) return
  console.log(`\ncurrent / baseline: median over neighbouring runs (A B B A: two pairs per round)\n`)
  const cmp = [['store', 'scenario', 'pairs', 'req/s', 'CPU per answer', 'p99/mean baseline → current']]
  for (const cur of rows.filter((x) => x.build === 'current')) {
    const base = rows.find((x) => x.build === 'baseline' && x.store === cur.store && x.scenario === cur.scenario)
    if (base === undefined) continue
    const pairs = base.runs.map((b, k) => [b, cur.runs[k]]).filter(([, c]) => c !== undefined)
    const ratio = (f) => median(pairs.map(([b, c]) => f(c) / f(b)))
    cmp.push([
      cur.store,
      cur.scenario,
      String(pairs.length),
      `${ratio((r) => r.rps).toFixed(2)}×`,
      Number.isNaN(cur.cpuPerK) ? '-' : `${ratio((r) => r.cpuPerK).toFixed(2)}×`,
      `${base.tail.toFixed(1)}× → ${cur.tail.toFixed(1)}× (runs: ${base.tails.map((x) => x.toFixed(1)).join(' ')} → ${cur.tails.map((x) => x.toFixed(1)).join(' ')})`,
    ])
  }
  printTable(cmp)
}

/**
 * Each OpenID Connect grant beside client credentials (the `token` row of the same store and
 * build): req/s, and the server's CPU per answer, which holds on a busy machine where req/s does not.
 */
function printGrantRatios(rows) {
  const table = [['store', 'build', 'grant / client_credentials', 'req/s', 'CPU per answer']]
  for (const r of rows.filter((x) => x.scenario === 'refresh_token' || x.scenario === 'authorization_code')) {
    const cc = rows.find((x) => x.scenario === 'token' && x.store === r.store && x.build === r.build)
    if (cc === undefined) continue
    table.push([r.store, r.build, `${r.scenario} / client_credentials`, `${(r.rps / cc.rps).toFixed(2)}×`, Number.isNaN(r.cpuPerK) ? '-' : `${(r.cpuPerK / cc.cpuPerK).toFixed(2)}×`])
  }
  if (table.length === 1) return
  console.log(`\nOpenID Connect grants beside client credentials (same store, same build)\n`)
  printTable(table)
}

function median(xs) {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)))
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '))
}
