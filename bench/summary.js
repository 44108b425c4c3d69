// The summary bench/run.js ends with: the rows of issue 10's table, each measured in this run
// against its goal. Pure: it reads the per-target figures and returns rows. See bench/README.md.

/** Levels at which the gateway writes a line per request. */
const REQUEST_LOG_LEVELS = new Set(['info', 'debug', 'trace'])

/**
 * @typedef {{ rps: number, perCore?: number, maxRssMiB?: number }} Figures one target, both runs
 *   combined: requests per second, and per CPU-second of the measured process where /proc has it
 * @typedef {{ what: string, value: string, goal: string, verdict: 'met' | 'NOT met' | 'n/a', note?: string }} Row
 */

/**
 * How fast a is compared with b, per core: requests per CPU-second of each one's process, which
 * holds on a busy machine where the proxy gets a part of its core; requests per second (noted)
 * where either has no CPU figure.
 */
function speedRatio(a, b) {
  if (a.perCore !== undefined && b.perCore !== undefined) return { value: a.perCore / b.perCore }
  return { value: a.rps / b.rps, note: 'req/s: no CPU figures' }
}

/**
 * @param {Record<string, Figures>} results by target name; targets that did not run are absent
 * @param {{ logLevel: string, rulesLarge: number, rulesSmall: number }} opts the gateway targets' log level and rule counts
 * @returns {Row[]}
 */
export function issueSummary(results, { logLevel, rulesLarge, rulesSmall }) {
  const rows = []
  const throughput = (what, a, b, goal, note) => {
    const ra = results[a]
    const rb = results[b]
    if (ra === undefined || rb === undefined || !(rb.rps > 0)) {
      rows.push({ what, value: '-', goal: `≥ ${goal.toFixed(2)}`, verdict: 'n/a', note: `needs ${a} and ${b}` })
      return
    }
    const r = speedRatio(ra, rb)
    const notes = [note, r.note].filter(Boolean).join('; ')
    rows.push({ what, value: r.value.toFixed(2), goal: `≥ ${goal.toFixed(2)}`, verdict: r.value >= goal ? 'met' : 'NOT met', ...(notes === '' ? {} : { note: notes }) })
  }
  const quiet = !REQUEST_LOG_LEVELS.has(logLevel)
  if (quiet) throughput('log.level info vs warn, same noop rule (gateway-info/gateway)', 'gateway-info', 'gateway', 0.9)
  else rows.push({ what: 'log.level info vs warn, same noop rule', value: '-', goal: '≥ 0.90', verdict: 'n/a', note: `--log-level ${logLevel} writes request lines too` })
  throughput('jwt (RS256), the same token repeated, vs noop (jwt/gateway)', 'jwt', 'gateway', 0.8)
  const first = results['jwt-first-seen']
  const repeated = results.jwt
  const gateway = results.gateway
  if (first !== undefined && gateway !== undefined) {
    const vsRepeated = repeated === undefined ? '' : `; ${speedRatio(first, repeated).value.toFixed(2)} of the repeated token`
    const r = speedRatio(first, gateway)
    const note = [`no goal: stays slower${vsRepeated}`, r.note].filter(Boolean).join('; ')
    rows.push({ what: 'jwt, a first-seen token per request, vs noop (jwt-first-seen/gateway)', value: r.value.toFixed(2), goal: 'report', verdict: 'n/a', note })
  }
  throughput('oauth2_introspection cache hit + header mutator vs noop', 'introspection-hit', 'gateway', 0.95)
  const large = results['rules-10k']?.maxRssMiB
  const small = results['rules-10']?.maxRssMiB
  if (large !== undefined && small !== undefined) {
    const diff = large - small
    const perRule = (diff * 1024) / (rulesLarge - rulesSmall)
    rows.push({ what: `RSS under load, ${rulesLarge.toLocaleString('en')} rules minus ${rulesSmall} rules`, value: `${sign(diff)}${diff.toFixed(0)} MiB (${perRule.toFixed(1)} KB per rule)`, goal: '≤ +40 MiB', verdict: diff <= 40 ? 'met' : 'NOT met' })
  } else {
    rows.push({ what: 'RSS under load, 10,000 rules minus 10 rules', value: '-', goal: '≤ +40 MiB', verdict: 'n/a', note: 'needs rules-10 and rules-10k (and /proc)' })
  }
  rows.push(
    small === undefined
      ? { what: `RSS under load, ${rulesSmall} rules, one process`, value: '-', goal: '≤ 100 MiB', verdict: 'n/a', note: 'needs rules-10 (and /proc)' }
      : { what: `RSS under load, ${rulesSmall} rules, one process`, value: `${small.toFixed(0)} MiB`, goal: '≤ 100 MiB', verdict: small <= 100 ? 'met' : 'NOT met' },
  )
  rows.push({
    what: 'token server p99 / mean latency, 128 connections, SQLite',
    value: '-',
    goal: '≤ 10×',
    verdict: 'n/a',
    note: 'measured by node bench/token-server.js --stores sqlite --connections 128',
  })
  throughput(`gateway noop vs nginx as a reverse proxy, per core (gateway/nginx)`, 'gateway', 'nginx', 0.5, quiet ? 'nginx access_log off, gateway at warn' : 'nginx access_log on, gateway logging requests')
  return rows
}

const sign = (n) => (n >= 0 ? '+' : '')
