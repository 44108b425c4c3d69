#!/usr/bin/env node
// Token server benchmark: autocannon against POST /oauth2/token (client_credentials, HTTP Basic)
// and POST /admin/oauth2/introspect (an active opaque token), for each store (SQLite, Postgres).
// The token server runs as the real CLI in its own process; autocannon runs here. Hydra's
// published figures (2 CPUs) are printed alongside for scale: 513 req/s (token) and
// 5,109 req/s (introspection). See bench/README.md.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { clientCredentialsToken, registerClient, startTokenServer, tokenServerEnv } from './token-server-process.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const HYDRA = { token: 513, introspect: 5109 }
const STORES = ['sqlite', 'postgres']

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '2' },
    stores: { type: 'string', default: STORES.join(',') },
    postgres: { type: 'string', default: process.env.GATEHOUSE_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test' },
    cli: { type: 'string', default: join(ROOT, 'dist/cli/main.js') },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (args.help) {
  console.log('usage: node bench/token-server.js [--duration s] [--connections n] [--warmup s] [--stores sqlite,postgres] [--postgres URL]')
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
  const results = []
  for (const kind of args.stores.split(',')) {
    const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'))
    const schema = `gh_bench_${process.pid}`
    const dsn = kind === 'sqlite' ? `sqlite://${join(tmp, 'bench.sqlite')}` : withSearchPath(args.postgres, schema)
    const env = tokenServerEnv(dsn)
    let server
    try {
      await run(['token-server', 'migrate', 'sql', '-e', '--yes'], { ...env, LOG_LEVEL: 'warn' })
      server = await startTokenServer({ cli: args.cli, cwd: ROOT, env })
      const { token, basic } = await setUp(server)
      const scenarios = {
        token: { url: `${server.public}/oauth2/token`, method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&scope=api' },
        introspect: { url: `${server.admin}/admin/oauth2/introspect`, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` },
      }
      for (const [name, opts] of Object.entries(scenarios)) {
        if (warmup > 0) await autocannon({ ...opts, connections, duration: warmup })
        const r = await autocannon({ ...opts, connections, duration })
        const failed = r.non2xx + r.errors + r.timeouts
        results.push({ store: kind, scenario: name, rps: r.requests.average, mean: r.latency.average, p99: r.latency.p99, failed })
        console.error(`${kind} ${name}: ${Math.round(r.requests.average)} req/s, p99 ${r.latency.p99} ms, ${failed} failed`)
      }
    } finally {
      server?.child.kill('SIGTERM')
      rmSync(tmp, { recursive: true, force: true })
      if (kind === 'postgres') await dropSchema(args.postgres, schema)
    }
  }
  printReport(results, { duration, connections })
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
function run(cliArgs, env) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [args.cli, ...cliArgs], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('close', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`gatehouse ${cliArgs.join(' ')} exited ${code}: ${out}`))))
  })
}

/** A client_credentials client and one token to introspect. */
async function setUp(server) {
  const client = await registerClient(server)
  return { token: await clientCredentialsToken(server, client), basic: client.basic }
}

function printReport(results, { duration, connections }) {
  console.log(`\ntoken server, ${connections} connections, ${duration} s per scenario (Hydra: published figures on 2 CPUs)\n`)
  // p99/mean: issue 10's measure of the tail (goal ≤ 10× at 128 connections, SQLite).
  const rows = [['store', 'scenario', 'req/s', 'mean ms', 'p99 ms', 'p99/mean', 'failed', 'Hydra req/s', '× Hydra']]
  for (const r of results) {
    const tail = r.mean > 0 ? `${(r.p99 / r.mean).toFixed(1)}×` : '-'
    rows.push([r.store, r.scenario, String(Math.round(r.rps)), r.mean.toFixed(2), String(r.p99), tail, String(r.failed), String(HYDRA[r.scenario]), `${(r.rps / HYDRA[r.scenario]).toFixed(1)}×`])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)))
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '))
}
