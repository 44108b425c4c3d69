#!/usr/bin/env node
// Token server benchmark: autocannon against POST /oauth2/token (client_credentials, HTTP Basic)
// and POST /admin/oauth2/introspect (an active opaque token), for each store (SQLite, Postgres).
// The token server runs as the real CLI in its own process; autocannon runs here. Reports
// throughput, mean and p99 latency and p99/mean (the tail), and with --baseline compares two
// builds in one run, interleaved. Hydra's published figures (2 CPUs) are printed alongside for
// scale: 513 req/s (token) and 5,109 req/s (introspection). See bench/README.md.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { clientCredentialsToken, registerClient, startTokenServer, tokenServerEnv } from './token-server-process.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const HYDRA = { token: 513, introspect: 5109 }
const STORES = ['sqlite', 'postgres']
/** The goal for p99 / mean latency at 128 connections. */
const TAIL_GOAL = 10
/** USER_HZ: what /proc counts CPU time in; 100 on every Linux build that matters. */
const CLOCK_TICKS = 100

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '2' },
    stores: { type: 'string', default: STORES.join(',') },
    postgres: { type: 'string', default: process.env.GATEHOUSE_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test' },
    cli: { type: 'string', default: join(ROOT, 'dist/cli/main.js') },
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (args.help) {
  console.log(`usage: node bench/token-server.js [--duration s] [--connections n] [--warmup s] [--stores sqlite,postgres]
                               [--postgres URL] [--cli dist/cli/main.js] [--baseline other/dist/cli/main.js] [--rounds n]
                               [--cpu-prof dir]`)
} else {
  try {
    await main()
  } catch (err) {
    console.error(`bench failed: ${err instanceof Error ? err.message : err}`)
    process.exitCode = 1
  }
}

async function main() {
  const { default: autocannon } = await import('autocannon')
  const duration = Number(args.duration)
  const connections = Number(args.connections)
  const warmup = Number(args.warmup)
  const cpuProfDir = args['cpu-prof'] === undefined ? undefined : resolve(args['cpu-prof'])
  if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true })
  const rounds = Number(args.rounds)
  // With a baseline: A B B A per round, so that drift of a busy machine favours neither build.
  const builds = args.baseline === undefined ? [{ name: 'current', cli: args.cli }] : [{ name: 'baseline', cli: resolve(args.baseline) }, { name: 'current', cli: args.cli }]
  const order = Array.from({ length: rounds }, () => (builds.length === 1 ? [0] : [0, 1, 1, 0])).flat()
  const results = []
  for (const kind of args.stores.split(',')) {
    const started = []
    try {
      for (const build of builds) started.push(await startBuild(kind, build, cpuProfDir))
      for (const name of ['token', 'introspect']) {
        if (warmup > 0) for (const s of started) await autocannon({ ...s.scenarios[name], connections, duration: warmup })
        for (const i of order) {
          const cpuBefore = started[i].cpuMs()
          const r = await autocannon({ ...started[i].scenarios[name], connections, duration })
          const cpu = started[i].cpuMs() - cpuBefore
          const row = {
            store: kind,
            build: builds[i].name,
            scenario: name,
            rps: r.requests.average,
            mean: r.latency.average,
            p99: r.latency.p99,
            p999: r.latency.p99_9,
            max: r.latency.max,
            failed: r.non2xx + r.errors + r.timeouts,
            // The server's CPU time (all its threads) per 1,000 answers: its cost, whatever share of a busy machine it got.
            cpuPerK: r.requests.total > 0 ? (cpu / r.requests.total) * 1000 : NaN,
          }
          results.push(row)
          console.error(`${kind} ${row.build} ${name}: ${Math.round(row.rps)} req/s, mean ${row.mean} ms, p99 ${row.p99} ms (${(row.p99 / row.mean).toFixed(1)}× mean), max ${row.max} ms, ${row.failed} failed, ${row.cpuPerK.toFixed(0)} CPU ms per 1k`)
        }
      }
    } finally {
      for (const s of started) await s.stop()
    }
  }
  printReport(results, { duration, connections, builds })
}

/** One build's token server on a fresh database of `kind`, its client and token, and the two scenarios. */
async function startBuild(kind, build, cpuProfDir) {
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'))
  const schema = `gh_bench_${process.pid}_${build.name}`
  const dsn = kind === 'sqlite' ? `sqlite://${join(tmp, 'bench.sqlite')}` : withSearchPath(args.postgres, schema)
  const env = tokenServerEnv(dsn)
  const nodeArgs = cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `token-server-${kind}-${build.name}.cpuprofile`]
  let server
  const stop = async () => {
    if (server !== undefined) {
      const exited = new Promise((r) => server.child.once('exit', r))
      server.child.kill('SIGTERM')
      await exited
    }
    rmSync(tmp, { recursive: true, force: true })
    if (kind === 'postgres') await dropSchema(args.postgres, schema)
  }
  try {
    await run(build.cli, ['token-server', 'migrate', 'sql', '-e', '--yes'], { ...env, LOG_LEVEL: 'warn' })
    server = await startTokenServer({ cli: build.cli, cwd: ROOT, env, nodeArgs })
    const client = await registerClient(server)
    const token = await clientCredentialsToken(server, client)
    const scenarios = {
      token: { url: `${server.public}/oauth2/token`, method: 'POST', headers: { authorization: client.basic, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&scope=api' },
      introspect: { url: `${server.admin}/admin/oauth2/introspect`, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` },
    }
    const pid = server.child.pid
    return { scenarios, stop, cpuMs: () => processCpuMs(pid) }
  } catch (err) {
    await stop()
    throw err
  }
}

/** User + system CPU time of a process and all its threads, from /proc (Linux); NaN elsewhere. */
function processCpuMs(pid) {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS
  } catch {
    return NaN
  }
}

function withSearchPath(url, schema) {
  const u = new URL(url)
  u.searchParams.set('search_path', schema)
  return u.href
}

async function dropSchema(url, schema) {
  const { default: pg } = await import('pg')
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  try {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  } finally {
    await pool.end()
  }
}

/** Runs the CLI to completion; rejects with its output on a non-zero exit. */
function run(cli, cliArgs, env) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cli, ...cliArgs], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('close', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`gatehouse ${cliArgs.join(' ')} exited ${code}: ${out}`))))
  })
}

/**
 * One row per store, build and scenario: the median of its runs (a busy machine makes single runs
 * swing), p99/mean the median of each run's ratio; then current/baseline, the median of the
 * ratios of runs next to each other (each A B B A round gives two pairs).
 */
function printReport(results, { duration, connections, builds }) {
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
  console.log(`\ntoken server, ${connections} connections, ${duration} s per run, median of ${rows[0]?.runs.length ?? 0} run(s) (Hydra: published figures on 2 CPUs)\n`)
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
      String(HYDRA[r.scenario]),
      `${(r.rps / HYDRA[r.scenario]).toFixed(1)}×`,
    ])
  }
  printTable(table)
  console.log(`\np99/mean: goal ≤ ${TAIL_GOAL}× at 128 connections (issue 10); p99.9 and max show the longest stalls;`)
  console.log(`CPU ms/1k: the server's CPU time (all threads) per 1,000 answers`)
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

function median(xs) {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)))
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '))
}
