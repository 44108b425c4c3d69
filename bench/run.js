#!/usr/bin/env node
// End-to-end proxy benchmark: the same autocannon load against (1) the upstream directly,
// (2) a bare undici proxy (the floor any Node proxy pays) and (3) the Gatehouse gateway with
// a noop/allow/noop rule. Each server runs in its own process so that none of them shares
// the event loop with autocannon. See bench/README.md.
import { fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { pipeline } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const HOST = '127.0.0.1'
const SELF = fileURLToPath(import.meta.url)
const ROOT = resolve(dirname(SELF), '..')
const TARGETS = ['direct', 'bare', 'gateway']

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '1' },
    only: { type: 'string', default: TARGETS.join(',') },
    cli: { type: 'string', default: join(ROOT, 'dist/cli/main.js') },
    // The gateway's default: one log line per request is part of the cost being measured.
    'log-level': { type: 'string', default: 'info' },
    role: { type: 'string' },
    upstream: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (args.role === 'upstream') await runUpstream()
else if (args.role === 'bare') await runBareProxy(args.upstream)
else if (args.help) printHelp()
else {
  try {
    await main()
  } catch (err) {
    console.error(`bench failed: ${err instanceof Error ? err.message : err}`)
    process.exitCode = 1
  }
}

function printHelp() {
  console.log(`usage: node bench/run.js [--duration s] [--connections n] [--warmup s] [--only direct,bare,gateway] [--cli dist/cli/main.js] [--log-level info]`)
}

// ---- roles (child processes) -------------------------------------------------------------

/** The upstream: 200 with a small fixed body. */
async function runUpstream() {
  const body = Buffer.from('{"ok":true}')
  const server = createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
    res.end(body)
  })
  await listenAndReport(server)
}

/** The baseline: the few lines any undici-based proxy needs, and nothing else. */
async function runBareProxy(upstream) {
  const { Pool } = await import('undici')
  const pool = new Pool(upstream, { pipelining: 1 })
  const drop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'host', 'te', 'trailer', 'proxy-connection'])
  const clean = (headers) => {
    const out = {}
    for (const k in headers) if (!drop.has(k)) out[k] = headers[k]
    return out
  }
  const server = createServer((req, res) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0'
    pool.request({ path: req.url, method: req.method, headers: clean(req.headers), body: hasBody ? req : null }).then(
      ({ statusCode, headers, body }) => {
        res.writeHead(statusCode, clean(headers))
        pipeline(body, res, () => {})
      },
      () => {
        res.writeHead(502).end()
      },
    )
  })
  await listenAndReport(server)
}

async function listenAndReport(server) {
  server.keepAliveTimeout = 60_000
  await new Promise((r) => server.listen(0, HOST, r))
  process.send({ port: server.address().port })
  // The parent owns our lifetime: leave when it goes.
  process.on('disconnect', () => process.exit(0))
}

// ---- orchestration -----------------------------------------------------------------------

async function main() {
  const only = args.only.split(',').map((s) => s.trim()).filter(Boolean)
  const unknown = only.filter((t) => !TARGETS.includes(t))
  if (unknown.length > 0) throw new Error(`--only: unknown target(s) ${unknown.join(', ')}; known: ${TARGETS.join(', ')}`)
  const duration = positive('duration')
  const connections = positive('connections')
  const warmup = Number(args.warmup)

  const children = []
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'))
  const cleanup = () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM')
    rmSync(tmp, { recursive: true, force: true })
  }
  process.on('SIGINT', () => {
    cleanup()
    process.exit(130)
  })

  try {
    const upstreamPort = await startRole(children, ['--role', 'upstream'])
    const upstream = `http://${HOST}:${upstreamPort}`
    const urls = { direct: `${upstream}/bench` }
    if (only.includes('bare')) {
      urls.bare = `http://${HOST}:${await startRole(children, ['--role', 'bare', '--upstream', upstream])}/bench`
    }
    if (only.includes('gateway')) urls.gateway = await startGateway(children, tmp, upstream)

    const { default: autocannon } = await import('autocannon')
    const results = {}
    for (const target of TARGETS.filter((t) => only.includes(t))) {
      await sanityCheck(target, urls[target])
      if (warmup > 0) await autocannon({ url: urls[target], connections, duration: warmup })
      process.stdout.write(`${target}: ${duration}s, ${connections} connections … `)
      const r = await autocannon({ url: urls[target], connections, duration })
      results[target] = r
      process.stdout.write(`${Math.round(r.requests.average)} req/s\n`)
    }
    printReport(results, { duration, connections })
  } finally {
    cleanup()
  }
}

function positive(name) {
  const n = Number(args[name])
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${args[name]}"`)
  return n
}

/** Forks this script in a role and resolves with the port it listens on. */
async function startRole(children, roleArgs) {
  const child = fork(SELF, roleArgs, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.push(child)
  const [msg] = await withTimeout(once(child, 'message'), 10_000, `${roleArgs.join(' ')} did not start`)
  return msg.port
}

/** Spawns `gatehouse serve` with a one-rule config and waits until /health/ready says 200. */
async function startGateway(children, tmp, upstream) {
  if (!existsSync(args.cli)) throw new Error(`${args.cli} not found: run \`npm run build\` first (or use --only direct,bare)`)
  const [proxyPort, apiPort] = await freePorts(2)
  const rules = join(tmp, 'rules.yml')
  // The gateway matches scheme://<Host header>/path, and autocannon sends the address it
  // calls as Host, so the rule names the gateway's own proxy address.
  writeFileSync(
    rules,
    `- id: bench
  match:
    url: "http://${HOST}:${proxyPort}/<.*>"
    methods: [GET]
  upstream:
    url: "${upstream}"
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`,
  )
  const config = join(tmp, 'gatehouse.yml')
  writeFileSync(
    config,
    `serve:
  proxy: { port: ${proxyPort}, host: ${HOST} }
  api: { port: ${apiPort}, host: ${HOST} }
access_rules:
  repositories: ["${rules}"]
authenticators: { noop: { enabled: true } }
authorizers: { allow: { enabled: true } }
mutators: { noop: { enabled: true } }
log: { level: ${args['log-level']}, format: json }
`,
  )
  // stdout (the per-request log lines) goes to /dev/null: written, as in production, not shown.
  const child = spawn(process.execPath, [args.cli, 'serve', '-c', config], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  children.push(child)
  let stderr = ''
  child.stderr.on('data', (c) => {
    stderr += c
    process.stderr.write(c)
  })
  const ready = `http://${HOST}:${apiPort}/health/ready`
  const deadline = Date.now() + 20_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${stderr}`)
    const status = await fetch(ready).then((r) => r.status, () => 0)
    if (status === 200) break
    if (Date.now() > deadline) throw new Error(`gateway not ready after 20 s (last status ${status}):\n${stderr}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return `http://${HOST}:${proxyPort}/bench`
}

/** Ports that were free a moment ago (the gateway needs them before it starts). */
async function freePorts(n) {
  const servers = []
  for (let i = 0; i < n; i++) {
    const s = createServer()
    await new Promise((r) => s.listen(0, HOST, r))
    servers.push(s)
  }
  const ports = servers.map((s) => s.address().port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

/** One request first: a misconfigured target would otherwise be benchmarked answering 404s. */
async function sanityCheck(target, url) {
  const res = await fetch(url)
  const body = await res.text()
  if (res.status !== 200) throw new Error(`${target} (${url}) answered ${res.status}, expected 200: ${body.slice(0, 300)}`)
}

function withTimeout(promise, ms, message) {
  let timer
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() =>
    clearTimeout(timer),
  )
}

// ---- report ------------------------------------------------------------------------------

function printReport(results, { duration, connections }) {
  // autocannon's percentiles are whole milliseconds (p50 is often 0 on loopback); the mean
  // is fractional, so ratios use mean and p99.
  const rows = [['target', 'req/s', 'mean ms', 'p50 ms', 'p99 ms', 'non-2xx', 'errors']]
  for (const [name, r] of Object.entries(results)) {
    rows.push([name, Math.round(r.requests.average), r.latency.average.toFixed(2), r.latency.p50, r.latency.p99, r.non2xx, r.errors + r.timeouts].map(String))
  }
  console.log(`\n${duration}s per target, ${connections} connections, gateway log level ${args['log-level']}, Node ${process.version}\n`)
  console.log(table(rows))

  const ratios = [
    ['gateway', 'direct'],
    ['gateway', 'bare'],
    ['bare', 'direct'],
  ].filter(([a, b]) => results[a] && results[b])
  if (ratios.length === 0) return
  const out = [['ratio', 'throughput', 'mean latency', 'p99 latency']]
  for (const [a, b] of ratios) {
    const ra = results[a]
    const rb = results[b]
    out.push([`${a}/${b}`, ratio(ra.requests.average, rb.requests.average), ratio(ra.latency.average, rb.latency.average), ratio(ra.latency.p99, rb.latency.p99)])
  }
  console.log(`\n${table(out)}`)
  if (Object.values(results).some((r) => r.non2xx > 0 || r.errors > 0 || r.timeouts > 0)) console.log('\nwarning: some requests failed; the numbers above are not comparable')
}

function ratio(a, b) {
  return b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a'
}

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')
}
