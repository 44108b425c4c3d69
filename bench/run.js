#!/usr/bin/env node
// End-to-end proxy benchmark: the same autocannon load against (1) the upstream directly,
// (2) a bare undici proxy (the floor any Node proxy pays), (3) the Gatehouse gateway with a
// noop/allow/noop rule and (4) the gateway checking bearer tokens issued by the real token
// server: cached introspection, introspection on every request, and JWT. Each server runs in
// its own process so that none of them shares the event loop with autocannon. See bench/README.md.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { pipeline } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ECHO_PATH, GATEWAY_SCENARIOS, startGateway } from './gateway.js'
import { clientCredentialsToken, introspectionCount, registerClient, startTokenServer, tokenServerEnv } from './token-server-process.js'

const HOST = '127.0.0.1'
const SELF = fileURLToPath(import.meta.url)
const ROOT = resolve(dirname(SELF), '..')
const TARGETS = ['direct', 'bare', ...Object.keys(GATEWAY_SCENARIOS)]
/** The gateway scenarios whose requests carry a token from the token server. */
const TOKEN_TARGETS = TARGETS.filter((t) => GATEWAY_SCENARIOS[t]?.token !== undefined)
/** The target for cached introspection, as a share of the bare proxy's throughput. */
const HIT_TARGET = 0.9

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '1' },
    only: { type: 'string', default: TARGETS.join(',') },
    cli: { type: 'string', default: join(ROOT, 'dist/cli/main.js') },
    // The gateway's default: one log line per request is part of the cost being measured.
    'log-level': { type: 'string', default: 'info' },
    // Directory for one V8 CPU profile per gateway scenario (<target>.cpuprofile).
    'cpu-prof': { type: 'string' },
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
  console.log(`usage: node bench/run.js [--duration s] [--connections n] [--warmup s] [--only ${TARGETS.join(',')}]
                        [--cli dist/cli/main.js] [--log-level info] [--cpu-prof dir]`)
}

// ---- roles (child processes) -------------------------------------------------------------

/** The upstream: 200 with a small fixed body; on ECHO_PATH, the request headers it received. */
async function runUpstream() {
  const body = Buffer.from('{"ok":true}')
  const server = createServer((req, res) => {
    req.resume()
    // Sanity checks only: shows what the gateway forwarded (X-User). One string compare per request, for every target alike.
    const out = req.url === ECHO_PATH ? Buffer.from(JSON.stringify(req.headers)) : body
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': out.length })
    res.end(out)
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
  const targets = TARGETS.filter((t) => only.includes(t))
  const duration = positive('duration')
  const connections = positive('connections')
  const warmup = Number(args.warmup)
  const cpuProfDir = args['cpu-prof'] === undefined ? undefined : resolve(args['cpu-prof'])
  if (targets.some((t) => GATEWAY_SCENARIOS[t]) && !existsSync(args.cli)) {
    throw new Error(`${args.cli} not found: run \`npm run build\` first (or use --only direct,bare)`)
  }
  if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true })

  const children = []
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'))
  const cleanup = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM')
    rmSync(tmp, { recursive: true, force: true })
  }
  process.on('SIGINT', () => {
    cleanup()
    process.exit(130)
  })

  try {
    const upstreamPort = await startRole(children, ['--role', 'upstream'])
    const upstream = `http://${HOST}:${upstreamPort}`
    const fixed = { direct: `${upstream}/bench` }
    if (targets.includes('bare')) {
      fixed.bare = `http://${HOST}:${await startRole(children, ['--role', 'bare', '--upstream', upstream])}/bench`
    }
    const ctx = targets.some((t) => TOKEN_TARGETS.includes(t)) ? await startTokens(children, targets, connections) : undefined

    const { default: autocannon } = await import('autocannon')
    const results = {}
    for (const target of targets) {
      const scenario = GATEWAY_SCENARIOS[target]
      // Gateways run one at a time, so that an idle one never competes for the CPU.
      const gw = scenario === undefined ? undefined : await startGateway({ name: target, ctx, cli: args.cli, cwd: ROOT, tmp, upstream, logLevel: args['log-level'], cpuProfDir })
      if (gw !== undefined) children.push(gw.child)
      try {
        const url = gw?.url ?? fixed[target]
        const headers = scenario?.token === undefined ? {} : { authorization: `Bearer ${ctx.tokens[scenario.token][0]}` }
        await sanityCheck(target, url, headers, gw, ctx)
        const load = { url, headers, connections }
        if (scenario?.tokenPerConnection) {
          // Called once per connection (autocannon's Client); the headers replace `headers`.
          let next = 0
          load.setupClient = (client) => client.setHeaders({ authorization: `Bearer ${ctx.tokens[scenario.token][next++ % connections]}` })
        }
        if (warmup > 0) await autocannon({ ...load, duration: warmup })
        process.stdout.write(`${target}: ${duration}s, ${connections} connections … `)
        const counted = scenario?.introspections !== undefined
        const before = counted ? await introspectionCount(ctx.server) : 0
        const r = await autocannon({ ...load, duration })
        if (counted) r.introspections = (await introspectionCount(ctx.server)) - before
        results[target] = r
        process.stdout.write(`${Math.round(r.requests.average)} req/s\n`)
      } finally {
        await gw?.stop()
      }
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

/**
 * Starts the real token server (in-memory store) and gets the tokens the selected scenarios
 * send, from one client per kind: `opaque`, and `jwt` (a client with
 * `access_token_strategy: "jwt"`). `tokens[kind]` holds one token, or one per connection when a
 * selected scenario of that kind needs it. A client_credentials token's subject is its client id:
 * that is the X-User to expect.
 */
async function startTokens(children, targets, connections) {
  const server = await startTokenServer({ cli: args.cli, cwd: ROOT, env: tokenServerEnv('memory') })
  children.push(server.child)
  const tokens = {}
  const subjects = {}
  const scenarios = targets.map((t) => GATEWAY_SCENARIOS[t]).filter((s) => s?.token !== undefined)
  for (const kind of new Set(scenarios.map((s) => s.token))) {
    const client = await registerClient(server, kind === 'jwt' ? { access_token_strategy: 'jwt' } : {})
    const count = scenarios.some((s) => s.token === kind && s.tokenPerConnection) ? connections : 1
    tokens[kind] = []
    for (let i = 0; i < count; i++) tokens[kind].push(await clientCredentialsToken(server, client))
    subjects[kind] = client.id
  }
  const shape = { opaque: (t) => t.startsWith('ory_at_'), jwt: (t) => t.split('.').length === 3 }
  for (const [kind, list] of Object.entries(tokens)) {
    if (!shape[kind](list[0])) throw new Error(`the ${kind} client got a token of another shape: ${list[0].slice(0, 40)}…`)
  }
  return { server, tokens, subjects }
}

/**
 * Requests before measuring, so that a misconfigured target fails loudly instead of being
 * benchmarked answering 401s or 404s. Every target: one request answers 200. Token scenarios
 * also: the upstream sees X-User = the token's subject, no token → 401, and the token server
 * sees the expected number of introspections (0 per request once cached, 1 without cache).
 */
async function sanityCheck(target, url, headers, gw, ctx) {
  const get = async (u, h) => {
    const res = await fetch(u, { headers: h })
    return { status: res.status, body: await res.text() }
  }
  const expect = (what, res, status) => {
    if (res.status !== status) throw new Error(`${target}: ${what} answered ${res.status}, expected ${status}: ${res.body.slice(0, 300)}`)
  }
  const scenario = GATEWAY_SCENARIOS[target]
  if (scenario?.token === undefined) {
    expect(`GET ${url}`, await get(url, headers), 200)
    return
  }
  const echo = await get(`${gw.base}${ECHO_PATH}`, headers)
  expect(`GET ${ECHO_PATH} with the ${scenario.token} token`, echo, 200)
  const seen = JSON.parse(echo.body)['x-user']
  const subject = ctx.subjects[scenario.token]
  if (seen !== subject) throw new Error(`${target}: the upstream saw X-User ${JSON.stringify(seen)}, expected the client id ${JSON.stringify(subject)}`)
  expect(`GET ${url} without a token`, await get(url, {}), 401)
  if (scenario.introspections === undefined) return
  const n = 3
  const before = await introspectionCount(ctx.server)
  for (let i = 0; i < n; i++) expect(`GET ${url} with the token`, await get(url, headers), 200)
  const calls = (await introspectionCount(ctx.server)) - before
  if (calls !== n * scenario.introspections) {
    throw new Error(`${target}: ${n} requests caused ${calls} introspection calls, expected ${n * scenario.introspections}`)
  }
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
    ...TOKEN_TARGETS.map((t) => [t, 'bare']),
  ].filter(([a, b]) => results[a] && results[b])
  if (ratios.length > 0) {
    const out = [['ratio', 'throughput', 'mean latency', 'p99 latency']]
    for (const [a, b] of ratios) {
      const ra = results[a]
      const rb = results[b]
      out.push([`${a}/${b}`, ratio(ra.requests.average, rb.requests.average), ratio(ra.latency.average, rb.latency.average), ratio(ra.latency.p99, rb.latency.p99)])
    }
    console.log(`\n${table(out)}`)
  }

  const counted = Object.entries(results).filter(([, r]) => r.introspections !== undefined)
  if (counted.length > 0) console.log('')
  for (const [name, r] of counted) {
    console.log(`${name}: ${r.introspections} introspection calls for ${r.requests.total} requests (${(r.introspections / Math.max(r.requests.total, 1)).toFixed(2)} per request)`)
  }
  if (results['introspection-hit'] && results.bare) {
    const share = results['introspection-hit'].requests.average / results.bare.requests.average
    console.log(`\ntarget: introspection-hit/bare throughput >= ${HIT_TARGET.toFixed(2)}x: ${share >= HIT_TARGET ? 'met' : 'NOT met'} (${share.toFixed(2)}x)`)
  }
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
