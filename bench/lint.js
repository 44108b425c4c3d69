#!/usr/bin/env node
// Benchmark of `gatehouse rules lint`'s overlap analysis (src/rules/overlap.ts) for 1,000 and
// 10,000 rules, the sizes the README quotes. The rule set is shaped like a large real one: per
// service a read rule, item rules (one with the same methods on a longer path, one with other
// methods) and a sub-resource alternation, so that the prefix pruning leaves pairs that must be
// intersected (same prefix family, shared method) and pairs the methods rule out; plus rules on
// short prefixes (a version health check, a tenant wildcard) that are candidates against every
// service rule. The set has no overlap, as a linted rule set should; one planted rule overlapping two others
// checks the analysis still finds them.
//
// Prints the time to compile the matchers (what `rules validate` does anyway) and the time of
// the analysis itself, with the number of pairs left after pruning.
//
//   npm run build && node bench/lint.js [--sizes 1000,10000] [--dist dist]
import { dirname, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    dist: { type: 'string', default: 'dist' },
  },
})
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dist = (file) => pathToFileURL(resolve(ROOT, args.dist, file)).href
const { compileMatcher } = await import(dist('rules/matcher/index.js'))
const { analyseOverlaps } = await import(dist('rules/overlap.js'))

const SHORT_PREFIX_RULES = [
  ['health', 'https://api.example.com/<v[0-9]+>/health', ['GET']],
  ['tenants', 'https://<[a-z0-9-]+>.tenant.example.com/<.*>', ['GET', 'POST']],
]

function ruleSet(size) {
  const specs = [...SHORT_PREFIX_RULES]
  for (let i = 0; specs.length < size - 1; i++) {
    const base = `https://api.example.com/svc${i}`
    specs.push([`svc${i}-read`, `${base}/<(docs|status)(/.*)?>`, ['GET', 'HEAD']])
    specs.push([`svc${i}-item`, `${base}/items/<[0-9]+>`, ['GET']])
    specs.push([`svc${i}-write`, `${base}/items/<[0-9]*>`, ['POST', 'PUT', 'DELETE']])
    specs.push([`svc${i}-sub`, `${base}/items/<[0-9]+>/<(comments|likes)>`, ['GET']])
  }
  specs.length = size - 1
  // Planted: svc1-read and svc1-item also match it (GET …/svc1/docs/7, …/svc1/items/7).
  specs.push(['planted', 'https://api.example.com/svc1/<.*>/7', ['GET']])
  return specs
}

for (const size of args.sizes.split(',').map(Number)) {
  const specs = ruleSet(size)
  let t0 = performance.now()
  const rules = specs.map(([id, pattern, methods]) => ({
    id,
    source: 'bench',
    matcher: compileMatcher('regexp', pattern),
    methods: new Set(methods),
    priority: 0,
  }))
  const compileMs = performance.now() - t0
  t0 = performance.now()
  const report = analyseOverlaps(rules)
  const analyseMs = performance.now() - t0
  const found = report.overlaps.map((o) => `${o.rules[0].id}/${o.rules[1].id} ${o.witness.method} ${o.witness.url}`)
  const planted = report.overlaps.every((o) => o.rules[1].id === 'planted') && report.overlaps.length === 2
  if (!planted || report.undecided.length !== 0) throw new Error(`expected the planted overlap only, got ${JSON.stringify(found)}`)
  console.log(
    `${String(size).padStart(6)} rules: compile ${compileMs.toFixed(0).padStart(5)} ms, analyse ${analyseMs.toFixed(0).padStart(5)} ms ` +
      `(${report.pairsAnalysed} pairs after pruning); found ${found.join(', ')}`,
  )
}
