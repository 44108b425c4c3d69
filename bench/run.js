#!/usr/bin/env node
// End-to-end proxy benchmark: the same autocannon load against the upstream directly, a bare
// Node proxy (the baseline), nginx as a reverse proxy (the reference, when installed) and the
// Gatehouse gateway in several scenarios (noop at two log levels, 10 and 10,000 rules, cached
// and uncached introspection, JWT with a repeated and with first-seen tokens). Each server runs
// in its own process, pinned to cores of its own when taskset is there; targets run A B B A.
// Ends with the rows of issue 10's table against their goals. See bench/README.md.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ECHO_PATH, findNginx, startBaseline, startNginx, stopChild } from './baselines.js'
import { allowedCpus, coreLayout, firstChild, hasTaskset, pin, sampleProcess } from './cores.js'
import { firstSeenTokens } from './first-seen.js'
import { GATEWAY_SCENARIOS, RULES_LARGE, RULES_SMALL, freePorts, startGateway } from './gateway.js'
import { combineRuns, printReport } from './report.js'
import { clientCredentialsToken, introspectionCount, registerClient, startTokenServer, tokenServerEnv } from './token-server-process.js'

const HOST = '127.0.0.1'
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const TARGETS = ['direct', 'bare', 'nginx', ...Object.keys(GATEWAY_SCENARIOS)]
/** The gateway scenarios whose requests carry a token from the token server. */
const TOKEN_TARGETS = TARGETS.filter((t) => GATEWAY_SCENARIOS[t]?.token !== undefined)
/** First-seen tokens signed per second of --duration (and of --warmup), unless --first-seen-tokens says. */
const FIRST_SEEN_PER_S = 1000

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string' },
    connections: { type: 'string' },
    warmup: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    cli: { type: 'string', default: join(ROOT, 'dist/cli/main.js') },
    // The level of every gateway target but gateway-info; warn writes no line per request, so
    // each scenario's own cost shows (gateway-info measures the log line).
    'log-level': { type: 'string', default: 'warn' },
    'first-seen-tokens': { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    // Directory for one V8 CPU profile per gateway scenario (<target>.cpuprofile).
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (args.help) printHelp()
else {
  try {
    await main()
  } catch (err) {
    console.error(`bench failed: ${err instanceof Error ? err.message : err}`)
    process.exitCode = 1
  }
}

function printHelp() {
  console.log(`usage: node bench/run.js [--duration s] [--connections n] [--warmup s] [--quick] [--only ${TARGETS.join(',')}]
                        [--cli dist/cli/main.js] [--log-level warn] [--first-seen-tokens n] [--no-pin] [--cpu-prof dir]`)
}

async function main() {
  const explicit = args.only !== undefined
  const only = (args.only ?? TARGETS.join(',')).split(',').map((s) => s.trim()).filter(Boolean)
  const unknown = only.filter((t) => !TARGETS.includes(t))
  if (unknown.length > 0) throw new Error(`--only: unknown target(s) ${unknown.join(', ')}; known: ${TARGETS.join(', ')}`)
  const nginx = findNginx()
  if (nginx === undefined && explicit && only.includes('nginx')) throw new Error('--only nginx: nginx is not installed (apt-get install nginx-light)')
  if (nginx === undefined && !explicit) console.log('nginx is not installed: the nginx target is left out')
  const targets = TARGETS.filter((t) => only.includes(t) && (t !== 'nginx' || nginx !== undefined))
  const quick = args.quick
  const duration = positive('duration', quick ? '1' : '10')
  const connections = positive('connections', quick ? '10' : '50')
  const warmup = Number(args.warmup ?? (quick ? '0' : '1'))
  const cpuProfDir = args['cpu-prof'] === undefined ? undefined : resolve(args['cpu-prof'])
  if (targets.some((t) => GATEWAY_SCENARIOS[t]) && !existsSync(args.cli)) {
    throw new Error(`${args.cli} not found: run \`npm run build\` first (or use --only direct,bare,nginx)`)
  }
  if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true })
  // A B B A, so that drift (a neighbour's load, thermal state) does not favour the targets that
  // run first. One pass with --quick (a smoke test) and --cpu-prof (one profile per target).
  const plan = quick || cpuProfDir !== undefined ? [...targets] : [...targets, ...[...targets].reverse()]

  const layout = args['no-pin'] || !hasTaskset() ? undefined : coreLayout(allowedCpus())
  if (layout !== undefined) pin(process.pid, layout.load)
  console.log(
    layout === undefined
      ? 'cores: not pinned (no taskset, fewer than 2 cores, or --no-pin)'
      : `cores: load generator ${layout.load}, upstream and token server ${layout.servers}, measured proxy ${layout.proxy}`,
  )

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
    const up = await startBaseline(['upstream'])
    children.push(up.child)
    if (layout !== undefined) pin(up.child.pid, layout.servers)
    const upstream = `http://${HOST}:${up.port}`
    const ctx = targets.some((t) => TOKEN_TARGETS.includes(t)) ? await startTokens(children, targets, connections, layout) : undefined
    if (targets.includes('jwt-first-seen')) {
      const perRun = roundUp(positive('first-seen-tokens', String(duration * FIRST_SEEN_PER_S)), connections)
      const warm = warmup > 0 ? roundUp(warmup * FIRST_SEEN_PER_S, connections) : 0
      const runs = plan.filter((t) => t === 'jwt-first-seen').length
      // A client may build one request past its last (autocannon), hence a token more per connection.
      const count = runs * (perRun + warm + 2 * connections) + 1
      process.stdout.write(`signing ${count} first-seen tokens … `)
      ctx.firstSeen = { ...firstSeenTokens({ template: ctx.tokens.jwt[0], count, dir: tmp }), next: 1, reused: 0, perRun, warm }
      process.stdout.write('done\n')
    }

    const { default: autocannon } = await import('autocannon')
    const env = { autocannon, upstream, upstreamChild: up.child, ctx, layout, tmp, children, nginx, connections, duration, warmup, cpuProfDir }
    const runs = {}
    for (const target of plan) (runs[target] ??= []).push(await measure(target, env))
    if (ctx?.firstSeen?.reused > 0) console.log(`warning: ${ctx.firstSeen.reused} jwt-first-seen requests reused a token (raise --first-seen-tokens)`)
    const results = Object.fromEntries(Object.entries(runs).map(([t, rs]) => [t, combineRuns(rs)]))
    printReport(results, { duration, connections, logLevel: args['log-level'], passes: plan.length / targets.length, layout, rulesSmall: RULES_SMALL, rulesLarge: RULES_LARGE })
  } finally {
    cleanup()
  }
}

function positive(name, fallback) {
  const raw = args[name] ?? fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`)
  return n
}

/** n rounded up to a multiple of step (autocannon spreads an `amount` evenly over connections). */
function roundUp(n, step) {
  return Math.max(step, Math.ceil(n / step) * step)
}

/** Starts the target's server, checks it, warms it up, measures it once and stops it. */
async function measure(target, env) {
  const { autocannon, ctx, connections } = env
  const scenario = GATEWAY_SCENARIOS[target]
  const server = await startTarget(target, env)
  try {
    const headers = scenario?.token === undefined ? {} : { authorization: `Bearer ${scenario.firstSeen ? ctx.firstSeen.tokens[0] : ctx.tokens[scenario.token][0]}` }
    await sanityCheck(target, server.url, headers, server.gw, ctx)
    const load = { url: server.url, headers, connections }
    if (scenario?.tokenPerConnection) {
      // Called once per connection (autocannon's Client); the headers replace `headers`.
      let next = 0
      load.setupClient = (client) => client.setHeaders({ authorization: `Bearer ${ctx.tokens[scenario.token][next++ % connections]}` })
    }
    // A fixed number of requests (first-seen tokens) or, by default, a duration.
    let amounts = { warm: { duration: env.warmup }, measured: { duration: env.duration } }
    if (scenario?.firstSeen) {
      // A token per request, never one sent before: a fixed number of requests instead of a duration.
      const fs = ctx.firstSeen
      load.requests = [
        {
          setupRequest: (req) => {
            if (fs.next >= fs.tokens.length) fs.reused++
            req.headers.authorization = `Bearer ${fs.tokens[fs.next++ % fs.tokens.length]}`
            return req
          },
        },
      ]
      amounts = { warm: { amount: fs.warm }, measured: { amount: fs.perRun } }
    }
    if (env.warmup > 0) await autocannon({ ...load, ...amounts.warm })
    const how = amounts.measured.amount === undefined ? `${env.duration}s` : `${amounts.measured.amount} requests`
    process.stdout.write(`${target}: ${how}, ${connections} connections … `)
    const counted = scenario?.introspections !== undefined
    const before = counted ? await introspectionCount(ctx.server) : 0
    const sampler = sampleProcess(server.pid)
    const r = await autocannon({ ...load, ...amounts.measured })
    const usage = sampler.stop()
    const run = {
      rps: r.requests.total / r.duration,
      latencyMean: r.latency.average,
      p99: r.latency.p99,
      total: r.requests.total,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
      maxRssMiB: usage.maxRssMiB,
      cpu: usage.cpu,
      // Requests per CPU-second of the measured process: its speed on one core it had to itself,
      // however busy the machine (see bench/README.md, "Per core").
      perCore: usage.cpuS > 0 ? r.requests.total / usage.cpuS : undefined,
      introspections: counted ? (await introspectionCount(ctx.server)) - before : undefined,
    }
    process.stdout.write(`${Math.round(run.rps)} req/s${run.perCore === undefined ? '' : `, ${Math.round(run.perCore)} per CPU-second`}\n`)
    return run
  } finally {
    await server.stop()
  }
}

/**
 * The server a target measures, started and pinned to the proxy's cores: `url` is what
 * autocannon calls, `pid` the process whose RSS and CPU are sampled (nginx: its worker).
 */
async function startTarget(target, env) {
  const { upstream, layout, children } = env
  const pinned = (pid) => layout !== undefined && pin(pid, layout.proxy)
  if (target === 'direct') return { url: `${upstream}/bench/x`, pid: env.upstreamChild.pid, stop: async () => {} }
  if (target === 'bare') {
    const bare = await startBaseline(['bare', upstream])
    children.push(bare.child)
    pinned(bare.child.pid)
    return { url: `http://${HOST}:${bare.port}/bench/x`, pid: bare.child.pid, stop: () => stopChild(bare.child) }
  }
  if (target === 'nginx') {
    const [port] = await freePorts(1)
    const wrap = layout === undefined ? [] : ['taskset', '-c', layout.proxy]
    const accessLog = ['info', 'debug', 'trace'].includes(args['log-level'])
    const ngx = await startNginx({ bin: env.nginx, dir: join(env.tmp, `nginx-${port}`), port, upstream, accessLog, wrap })
    children.push(ngx.child)
    return { url: `${ngx.url}/bench/x`, pid: firstChild(ngx.child.pid) ?? ngx.child.pid, stop: ngx.stop }
  }
  // Gateways run one at a time, so that an idle one never competes for the CPU.
  const gw = await startGateway({ name: target, ctx: env.ctx, cli: args.cli, cwd: ROOT, tmp: env.tmp, upstream, logLevel: args['log-level'], cpuProfDir: env.cpuProfDir })
  children.push(gw.child)
  pinned(gw.child.pid)
  return { url: gw.url, pid: gw.child.pid, gw, stop: gw.stop }
}

/**
 * Starts the real token server (in-memory store) and gets the tokens the selected scenarios
 * send, from one client per kind: `opaque`, and `jwt` (a client with
 * `access_token_strategy: "jwt"`). `tokens[kind]` holds one token, or one per connection when a
 * selected scenario of that kind needs it. A client_credentials token's subject is its client id:
 * that is the X-User to expect.
 */
async function startTokens(children, targets, connections, layout) {
  const server = await startTokenServer({ cli: args.cli, cwd: ROOT, env: tokenServerEnv('memory') })
  children.push(server.child)
  if (layout !== undefined) pin(server.child.pid, layout.servers)
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
  // The gateway empties its introspection cache once, when its revocation feed first opens; on a
  // busy machine that can come after the first requests, so a cached scenario gets a second round.
  const n = 3
  const rounds = scenario.introspections === 0 ? 2 : 1
  let calls
  for (let round = 0; round < rounds && calls !== n * scenario.introspections; round++) {
    const before = await introspectionCount(ctx.server)
    for (let i = 0; i < n; i++) expect(`GET ${url} with the token`, await get(url, headers), 200)
    calls = (await introspectionCount(ctx.server)) - before
  }
  if (calls !== n * scenario.introspections) {
    throw new Error(`${target}: ${n} requests caused ${calls} introspection calls, expected ${n * scenario.introspections}`)
  }
}
