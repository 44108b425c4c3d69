#!/usr/bin/env node
// What a rule costs in memory: starts `gatehouse serve` with 10 and with 10,000 generated rules
// (distinct URLs, a mix of the handlers rules typically use), puts a short autocannon burst on
// one noop rule of each, and prints the gateway's RSS and V8 heap after the load, the
// difference per rule, and how long each set took to load. Also times the overlap analysis
// the gateway runs on a published set (rule-analysis.ts) on the same 10,000 rules, in this
// process. See bench/README.md ("Memory per rule").
//
//   npm run build && node bench/rule-memory.js [--sizes 10,10000] [--duration 3] [--connections 50] [--rounds 1]
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { freePorts } from './gateway.js'

const HOST = '127.0.0.1'
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,10000' },
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    // Rounds of A B B A over the sizes; the figures are the means (RSS under load moves with
    // how far V8 grew its young generation, a few MiB from run to run).
    rounds: { type: 'string', default: '1' },
    cli: { type: 'string', default: join(ROOT, 'dist/cli/main.js') },
    // Keep the gateway's heap snapshot (SIGUSR2 → node --heapsnapshot-signal) of each size here.
    'heap-snapshot': { type: 'string' },
  },
})
const SIZES = args.sizes.split(',').map(Number)
const MIB = 1024 * 1024

/**
 * The handler combinations the generated rules cycle through, as rule files typically mix them:
 * public routes (noop, anonymous), JWT and introspected bearer tokens with a scope per route,
 * and the header mutator passing the subject on. Configs differ only where rules differ in
 * practice (the required scope); the endpoints come from the gateway config.
 */
const SCOPES = ['orders:read', 'orders:write', 'users:read', 'users:write', 'admin']
const X_USER = { handler: 'header', config: { headers: { 'X-User': '{{ print .Subject }}' } } }
const MIXES = [
  (i) => ({ authenticators: [{ handler: 'noop' }], authorizer: { handler: 'allow' }, mutators: [{ handler: 'noop' }] }),
  (i) => ({
    authenticators: [{ handler: 'jwt', config: { required_scope: [SCOPES[i % SCOPES.length]], scope_strategy: 'exact' } }],
    authorizer: { handler: 'allow' },
    mutators: [X_USER],
  }),
  (i) => ({
    authenticators: [{ handler: 'oauth2_introspection', config: { required_scope: [SCOPES[i % SCOPES.length]], scope_strategy: 'exact' } }],
    authorizer: { handler: 'allow' },
    mutators: [X_USER],
  }),
  (i) => ({
    authenticators: [{ handler: 'anonymous' }],
    authorizer: { handler: 'allow' },
    mutators: [{ handler: 'header', config: { headers: { 'X-Route': `route-${i % 8}` } } }],
    errors: [{ handler: 'json' }],
  }),
]

/** `n` rules: the first is the noop rule the load goes to (`/bench/…`), then `/svc-<i>/…`. */
function generateRules(n, base, upstream) {
  const rule = (id, path, handlers) => ({ id, match: { url: `${base}/${path}/<.*>`, methods: ['GET', 'POST'] }, upstream: { url: upstream }, ...handlers })
  const out = [rule('bench', 'bench', MIXES[0](0))]
  for (let i = 1; i < n; i++) out.push(rule(`svc-${i}`, `svc-${i}`, MIXES[i % MIXES.length](i)))
  return out
}

/** The upstream, which also serves the JWKS and the introspection endpoint the handlers point at. */
async function startUpstream() {
  const body = Buffer.from('{"ok":true}')
  const server = createServer((req, res) => {
    req.resume()
    const out = req.url === '/jwks.json' ? Buffer.from('{"keys":[]}') : req.url === '/introspect' ? Buffer.from('{"active":false}') : body
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': out.length })
    res.end(out)
  })
  server.keepAliveTimeout = 60_000
  await new Promise((r) => server.listen(0, HOST, r))
  return { server, origin: `http://${HOST}:${server.address().port}` }
}

async function startGateway(n, tmp, upstream) {
  const [proxyPort, apiPort, metricsPort] = await freePorts(3)
  const base = `http://${HOST}:${proxyPort}`
  const rules = join(tmp, `rules-${n}.json`)
  writeFileSync(rules, JSON.stringify(generateRules(n, base, upstream)))
  const config = join(tmp, `gatehouse-${n}.json`)
  writeFileSync(
    config,
    JSON.stringify({
      serve: { proxy: { port: proxyPort, host: HOST }, api: { port: apiPort, host: HOST }, prometheus: { port: metricsPort, host: HOST } },
      access_rules: { repositories: [rules] },
      authenticators: {
        noop: { enabled: true },
        anonymous: { enabled: true },
        jwt: { enabled: true, config: { jwks_urls: [`${upstream}/jwks.json`] } },
        oauth2_introspection: { enabled: true, config: { introspection_url: `${upstream}/introspect`, cache: { enabled: true, ttl: '1m' } } },
      },
      authorizers: { allow: { enabled: true } },
      mutators: { noop: { enabled: true }, header: { enabled: true } },
      errors: { handlers: { json: { enabled: true } } },
      log: { level: 'warn', format: 'json' },
    }),
  )
  const nodeArgs = args['heap-snapshot'] === undefined ? [] : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${args['heap-snapshot']}`]
  const started = performance.now()
  const child = spawn(process.execPath, [...nodeArgs, args.cli, 'serve', '-c', config], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (c) => (stderr += c))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  }
  const deadline = Date.now() + 120_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway (${n} rules) exited with ${child.exitCode}:\n${stderr}`)
    const status = await fetch(`http://${HOST}:${apiPort}/health/ready`).then((r) => r.status, () => 0)
    if (status === 200) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`gateway (${n} rules) not ready after 120 s:\n${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return { child, base, metrics: `http://${HOST}:${metricsPort}/metrics`, loadMs: performance.now() - started, stop }
}

/** VmRSS of a process, in bytes (Linux). */
function rssOf(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m[1]) * 1024
}

async function heapUsed(metricsUrl) {
  const text = await (await fetch(metricsUrl)).text()
  return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN)
}

async function measure(n, tmp, upstream) {
  const gw = await startGateway(n, tmp, upstream)
  try {
    const url = `${gw.base}/bench/x`
    const check = await fetch(url)
    if (check.status !== 200) throw new Error(`GET ${url} answered ${check.status}, not 200`)
    const { default: autocannon } = await import('autocannon')
    const r = await autocannon({ url, connections: Number(args.connections), duration: Number(args.duration) })
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${n} rules: ${r.non2xx} non-2xx answers and ${r.errors} errors under load`)
    const rss = rssOf(gw.child.pid)
    const heap = await heapUsed(gw.metrics)
    if (args['heap-snapshot'] !== undefined) {
      gw.child.kill('SIGUSR2')
      await new Promise((r) => setTimeout(r, 5000 + n))
    }
    return { n, rss, heap, loadMs: gw.loadMs, rps: r.requests.average }
  } finally {
    await gw.stop()
  }
}

/** The gateway's overlap analysis over the same rules, in this process (it runs after the swap in the gateway). */
async function timeAnalysis(n, base, upstream) {
  const dist = (file) => pathToFileURL(join(ROOT, 'dist', file)).href
  const { compileMatcher } = await import(dist('rules/matcher/index.js'))
  const { analyseOverlaps } = await import(dist('rules/overlap.js'))
  const rules = generateRules(n, base, upstream).map((r) => ({
    id: r.id,
    source: 'bench',
    matcher: compileMatcher('regexp', r.match.url),
    methods: new Set(r.match.methods),
    priority: 0,
  }))
  const started = performance.now()
  const report = analyseOverlaps(rules, { maxPairs: 50_000 })
  return { ms: performance.now() - started, pairs: report.pairsAnalysed, overlaps: report.overlaps.length }
}

const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-rule-memory-'))
const up = await startUpstream()
try {
  const runs = new Map(SIZES.map((n) => [n, []]))
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const n of [...SIZES, ...SIZES.slice().reverse()]) {
      const r = await measure(n, tmp, up.origin)
      runs.get(n).push(r)
      console.log(
        `${String(n).padStart(6)} rules: RSS ${(r.rss / MIB).toFixed(1)} MiB, heap used ${(r.heap / MIB).toFixed(1)} MiB after load, ` +
          `ready in ${(r.loadMs / 1000).toFixed(2)} s, ${Math.round(r.rps)} req/s`,
      )
    }
  }
  const mean = (n, key) => runs.get(n).reduce((s, r) => s + r[key], 0) / runs.get(n).length
  for (const n of SIZES) {
    console.log(`${String(n).padStart(6)} rules, mean of ${runs.get(n).length}: RSS ${(mean(n, 'rss') / MIB).toFixed(1)} MiB, ready in ${(mean(n, 'loadMs') / 1000).toFixed(2)} s`)
  }
  if (SIZES.length >= 2) {
    const [a, b] = [SIZES[0], SIZES.at(-1)]
    const perRule = (key) => ((mean(b, key) - mean(a, key)) / (b - a) / 1024).toFixed(1)
    console.log(
      `${b} rules minus ${a}: RSS +${((mean(b, 'rss') - mean(a, 'rss')) / MIB).toFixed(1)} MiB (${perRule('rss')} KiB per rule), ` +
        `heap used +${((mean(b, 'heap') - mean(a, 'heap')) / MIB).toFixed(1)} MiB (${perRule('heap')} KiB per rule)`,
    )
  }
  const largest = Math.max(...SIZES)
  const a = await timeAnalysis(largest, 'http://127.0.0.1:8080', up.origin)
  console.log(`overlap analysis of ${largest} rules: ${a.ms.toFixed(0)} ms, ${a.pairs} pairs intersected, ${a.overlaps} overlaps`)
} finally {
  up.server.close()
  up.server.closeAllConnections()
  rmSync(tmp, { recursive: true, force: true })
}
