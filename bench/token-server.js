#!/usr/bin/env node
// Token server benchmark: autocannon against POST /oauth2/token (client_credentials, HTTP Basic),
// POST /admin/oauth2/introspect (an active opaque token), and the token endpoint's OpenID Connect
// grants: refresh_token (rotating: each answer's refresh token is spent by a later request) and
// authorization_code (a fixed number of codes, each spent once), for each store (SQLite, Postgres).
// The codes and the first refresh tokens are obtained before the timed part, through the real
// login/consent flow over HTTP (bench/oidc-flow.js). The token server runs as the real CLI in its
// own process; autocannon runs here. Reports throughput, mean and p99 latency and p99/mean (the
// tail), the server's CPU per answer, each OIDC grant against client credentials, and with
// --baseline compares two builds in one run, interleaved. Hydra's published figures (2 CPUs) are
// printed alongside for scale: 513 req/s (token) and 5,109 req/s (introspection). See bench/README.md.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { codeExchangeBody, issueCodes, issueRefreshTokens, refreshBody, registerOidcClient, useIdTokenAlgorithm } from './oidc-flow.js'
import { clientCredentialsToken, registerClient, startTokenServer, tokenServerEnv } from './token-server-process.js'
import { printReport } from './token-server-report.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const STORES = ['sqlite', 'postgres']
/** Also accepted by --stores: the in-memory store, which writes nothing durably (what the CPU alone allows). */
const ALL_STORES = ['memory', ...STORES]
const SCENARIOS = ['token', 'introspect', 'refresh_token', 'authorization_code']
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
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    codes: { type: 'string', default: '3000' },
    'id-token-alg': { type: 'string', default: 'RS256' },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (args.help) {
  console.log(`usage: node bench/token-server.js [--duration s] [--connections n] [--warmup s] [--stores sqlite,postgres]
                               [--postgres URL] [--cli dist/cli/main.js] [--baseline other/dist/cli/main.js] [--rounds n]
                               [--scenarios ${SCENARIOS.join(',')}] [--codes n] [--id-token-alg RS256|ES256]
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
  const codes = Number(args.codes)
  const scenarioNames = args.scenarios.split(',')
  for (const name of scenarioNames) if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario ${name}; known: ${SCENARIOS.join(', ')}`)
  const cpuProfDir = args['cpu-prof'] === undefined ? undefined : resolve(args['cpu-prof'])
  if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true })
  const rounds = Number(args.rounds)
  // With a baseline: A B B A per round, so that drift of a busy machine favours neither build.
  const builds = args.baseline === undefined ? [{ name: 'current', cli: args.cli }] : [{ name: 'baseline', cli: resolve(args.baseline) }, { name: 'current', cli: args.cli }]
  const order = Array.from({ length: rounds }, () => (builds.length === 1 ? [0] : [0, 1, 1, 0])).flat()
  // What each build spends of the OIDC set-up: measured runs, plus one warm-up run.
  const runsPerBuild = order.filter((i) => i === 0).length + (warmup > 0 ? 1 : 0)
  const plan = {
    connections,
    // A code per request of each measured run, plus a few per connection to warm up the grant.
    codes: scenarioNames.includes('authorization_code') ? codes * order.filter((i) => i === 0).length + (warmup > 0 ? connections * 4 : 0) : 0,
    // A refresh token per connection is in flight at any time; the answers to those in flight when a
    // run stops never come back, so each run loses up to one per connection.
    refreshTokens: scenarioNames.includes('refresh_token') ? connections * (runsPerBuild + 1) : 0,
  }
  const results = []
  for (const kind of args.stores.split(',')) if (!ALL_STORES.includes(kind)) throw new Error(`unknown store ${kind}; known: ${ALL_STORES.join(', ')}`)
  for (const kind of args.stores.split(',')) {
    const started = []
    try {
      for (const build of builds) started.push(await startBuild(kind, build, cpuProfDir, plan))
      for (const name of scenarioNames) {
        // Codes are spent one per request: a fixed number per run instead of a duration.
        // autocannon notices that the last request is answered only at its next sample (every
        // sampleInt ms, default 1 s), and counts the wait in the run's duration: sample often.
        const length = (seconds) => (name === 'authorization_code' ? { amount: codes, sampleInt: 10 } : { duration: seconds })
        if (warmup > 0) for (const s of started) await autocannon({ ...s.scenarios[name], connections, ...(name === 'authorization_code' ? { amount: connections * 4 } : { duration: warmup }) })
        for (const i of order) {
          const cpuBefore = started[i].cpuMs()
          const r = await autocannon({ ...started[i].scenarios[name], connections, ...length(duration) })
          const cpu = started[i].cpuMs() - cpuBefore
          const row = {
            store: kind,
            build: builds[i].name,
            scenario: name,
            // requests.average is per whole second of the run; a run of a fixed amount ends mid-second.
            rps: name === 'authorization_code' ? r.requests.total / r.duration : r.requests.average,
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
  printReport(results, { duration, connections, builds, codes })
}

/**
 * One build's token server on a fresh database of `kind`, its clients, tokens, codes and refresh
 * tokens (`plan`), and the four scenarios.
 */
async function startBuild(kind, build, cpuProfDir, plan) {
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'))
  const schema = `gh_bench_${process.pid}_${build.name}`
  const dsn = kind === 'memory' ? 'memory' : kind === 'sqlite' ? `sqlite://${join(tmp, 'bench.sqlite')}` : withSearchPath(args.postgres, schema)
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
    if (kind !== 'memory') await run(build.cli, ['token-server', 'migrate', 'sql', '-e', '--yes'], { ...env, LOG_LEVEL: 'warn' })
    server = await startTokenServer({ cli: build.cli, cwd: ROOT, env, nodeArgs })
    const client = await registerClient(server)
    const token = await clientCredentialsToken(server, client)
    const oidc = await registerOidcClient(server)
    await useIdTokenAlgorithm(server, args['id-token-alg'])
    const started = Date.now()
    const refreshTokens = plan.refreshTokens > 0 ? await issueRefreshTokens(server, oidc, plan.refreshTokens) : []
    const codes = plan.codes > 0 ? await issueCodes(server, oidc, plan.codes) : []
    if (refreshTokens.length + codes.length > 0) console.error(`${kind} ${build.name}: ${refreshTokens.length} refresh tokens and ${codes.length} codes through the login/consent flow in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    const tokenEndpoint = { url: `${server.public}/oauth2/token`, method: 'POST', headers: { authorization: client.basic, 'content-type': 'application/x-www-form-urlencoded' } }
    const oidcHeaders = { authorization: oidc.basic, 'content-type': 'application/x-www-form-urlencoded' }
    const scenarios = {
      token: { ...tokenEndpoint, body: 'grant_type=client_credentials&scope=api' },
      introspect: { url: `${server.admin}/admin/oauth2/introspect`, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` },
      // Rotation: every request spends a refresh token from the pool, every 200 puts its new one back.
      refresh_token: {
        url: `${server.public}/oauth2/token`,
        requests: [
          {
            method: 'POST',
            headers: oidcHeaders,
            setupRequest: (req) => ({ ...req, body: refreshBody(take(refreshTokens, 'refresh tokens')) }),
            onResponse: (status, body) => {
              if (status === 200) refreshTokens.push(JSON.parse(body).refresh_token)
            },
          },
        ],
      },
      authorization_code: {
        url: `${server.public}/oauth2/token`,
        requests: [{ method: 'POST', headers: oidcHeaders, setupRequest: (req) => ({ ...req, body: codeExchangeBody(take(codes, 'codes')) }) }],
      },
    }
    const pid = server.child.pid
    return { scenarios, stop, cpuMs: () => processCpuMs(pid) }
  } catch (err) {
    await stop()
    throw err
  }
}

/** The next unspent item of a pool; running out means the set-up planned too few, a bug of this script. */
function take(pool, what) {
  const item = pool.shift()
  if (item === undefined) throw new Error(`ran out of ${what}: the set-up issued too few`)
  return item
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
