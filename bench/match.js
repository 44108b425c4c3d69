#!/usr/bin/env node
// Micro benchmark of rule lookup (RuleIndex.find + regexp matcher): the cost per request must
// not grow with the number of rules. Builds 10, 1,000 and 10,000 rules with distinct literal
// prefixes (plus a few host-wildcard rules every lookup has to test), times lookups that each
// match exactly one rule, and prints ns/lookup and the 10k/10 ratio.
//
// Two columns per size: "8 rules hit" sends the lookups to the same number of distinct rules
// whatever the set size (spread over its whole range), which isolates the algorithm: its ratio
// should stay near 1. "all rules hit" spreads them over ~1,000 distinct rules where the set has
// that many; it grows a little because more regexes and tree nodes compete for the CPU caches,
// not because more rules are tested (each lookup still tests one service rule + the wildcards).
//
//   npm run build && node bench/match.js [--lookups 200000] [--dist dist]
import { dirname, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    lookups: { type: 'string', default: '200000' },
    // The compiled sources to benchmark, relative to the repository root.
    dist: { type: 'string', default: 'dist' },
  },
})
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dist = (file) => pathToFileURL(resolve(ROOT, args.dist, file)).href
const { RuleIndex } = await import(dist('rules/rule-index.js'))
const { compileMatcher } = await import(dist('rules/matcher/index.js'))

const LOOKUPS = Number(args.lookups)
const SIZES = [10, 1_000, 10_000]
const WILDCARD_RULES = [
  'http://<[a-z0-9-]+>.tenant.local/<.*>',
  'https://<[a-z]+>.internal.local/v1/<.*>',
  '<https?>://status.local/health',
]

function buildIndex(size) {
  const patterns = [...WILDCARD_RULES]
  for (let i = 0; patterns.length < size; i++) patterns.push(`http://api.local/svc${i}/<.*>`)
  const entries = patterns.map((pattern, i) => ({
    matcher: compileMatcher('regexp', pattern),
    methods: new Set(['GET', 'POST']),
    value: i,
  }))
  return new RuleIndex(entries)
}

/** `distinct` service rules spread over the whole set; one URL in eight goes to a host wildcard. */
function lookupUrls(size, distinct) {
  const services = size - WILDCARD_RULES.length
  const ids = Array.from({ length: Math.min(distinct, services) }, (_, j) => Math.floor((j * services) / distinct))
  const urls = []
  for (let k = 0; k < 1024; k++) {
    if (k % 8 === 0) urls.push(`http://team${k}.tenant.local/api/items/${k}`)
    else urls.push(`http://api.local/svc${ids[(k * 7919) % ids.length]}/items/${k}`)
  }
  return urls
}

/** Mean ns per lookup over LOOKUPS lookups, after checking each URL matches exactly one rule. */
function measure(index, urls) {
  for (const url of urls) {
    const n = index.find('GET', url, 2).length
    if (n !== 1) throw new Error(`${url} matched ${n} rules, expected 1`)
  }
  run(index, urls, Math.min(LOOKUPS, 50_000)) // warm-up: JIT, inline caches, regex tier-up
  const start = process.hrtime.bigint()
  const found = run(index, urls, LOOKUPS)
  if (found !== LOOKUPS) throw new Error(`expected ${LOOKUPS} matches, got ${found}`)
  return Number(process.hrtime.bigint() - start) / LOOKUPS
}

function run(index, urls, n) {
  let found = 0
  for (let i = 0; i < n; i++) found += index.find('GET', urls[i & 1023], 2).length
  return found
}

const results = []
console.log(`${LOOKUPS} lookups per measurement (GET, limit 2 as the gateway asks)`)
console.log('   rules   8 rules hit   all rules hit   index build')
for (const size of SIZES) {
  const built = process.hrtime.bigint()
  const index = buildIndex(size)
  const buildMs = Number(process.hrtime.bigint() - built) / 1e6
  const hot = measure(index, lookupUrls(size, 8))
  const spread = measure(index, lookupUrls(size, 1000))
  results.push({ hot, spread })
  const col = (ns, w) => `${ns.toFixed(0)} ns`.padStart(w)
  console.log(`${String(size).padStart(8)}${col(hot, 14)}${col(spread, 16)}${`${buildMs.toFixed(0)} ms`.padStart(14)}`)
}
const [first, last] = [results[0], results.at(-1)]
console.log(`ratio ${SIZES.at(-1)}/${SIZES[0]} rules: ${(last.hot / first.hot).toFixed(2)}x with 8 rules hit (near 1: ` +
  `cost does not grow with the rule count), ${(last.spread / first.spread).toFixed(2)}x with all rules hit`)
