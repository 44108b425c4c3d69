#!/usr/bin/env node
// Microbenchmark of the request log line: CPU time per line of the gateway's logger (dist/, JSON
// to stdout) at log.level info and warn, and of pino's own asynchronous stdout destination with
// toISOString time (what the gateway used before it batched lines per turn). Each variant runs in
// a child process whose stdout is /dev/null, in the order A B C C B A. CPU time, unlike
// throughput, barely moves when other processes load the machine. See bench/README.md.
import { spawnSync } from 'node:child_process'
import { openSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const SELF = fileURLToPath(import.meta.url)
const ROOT = resolve(dirname(SELF), '..')
const VARIANTS = ['info', 'warn', 'pino-async']

const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '200000' },
    'per-turn': { type: 'string', default: '8' },
    role: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (args.help) console.log('usage: node bench/logger.js [--lines 200000] [--per-turn 8]')
else if (args.role !== undefined) await child(args.role)
else main()

function main() {
  const logger = join(ROOT, 'dist/observability/logger.js')
  readFileSync(logger) // fails early, with the path, when dist/ is not built
  const devNull = openSync('/dev/null', 'w')
  const runs = Object.fromEntries(VARIANTS.map((v) => [v, []]))
  for (const v of [...VARIANTS, ...[...VARIANTS].reverse()]) {
    const r = spawnSync(process.execPath, [SELF, '--role', v, '--lines', args.lines, '--per-turn', args['per-turn']], { stdio: ['ignore', devNull, 'pipe'] })
    if (r.status !== 0) throw new Error(`${v} failed: ${r.stderr}`)
    runs[v].push(JSON.parse(r.stderr.toString()))
  }
  const mean = (xs, k) => xs.reduce((s, x) => s + x[k], 0) / xs.length
  console.log(`${args.lines} request lines per run, ${args['per-turn']} per turn of the event loop, Node ${process.version}\n`)
  console.log('variant     main thread µs/line  process µs/line')
  for (const v of VARIANTS) console.log(`${v.padEnd(10)}  ${mean(runs[v], 'main').toFixed(2).padStart(19)}  ${mean(runs[v], 'process').toFixed(2).padStart(15)}`)
  const cost = (v) => mean(runs[v], 'main') - mean(runs.warn, 'main')
  console.log(`\nwhat a line adds at info (main thread, minus warn): ${cost('info').toFixed(2)} µs; pino-async: ${cost('pino-async').toFixed(2)} µs`)
}

/** Logs the request lines, `per-turn` per turn, and reports CPU per line on stderr (stdout is the log). */
async function child(variant) {
  const { createLogger, redactSecrets } = await import(join(ROOT, 'dist/observability/logger.js'))
  const { pino } = await import('pino')
  const log =
    variant === 'pino-async'
      ? pino({ level: 'info', timestamp: pino.stdTimeFunctions.isoTime, formatters: { log: redactSecrets, level: (label) => ({ level: label }) } })
      : createLogger({ level: variant, format: 'json' })
  const n = Number(args.lines)
  const perTurn = Number(args['per-turn'])
  // The gateway's request line (proxy-server.ts), one object per request.
  const line = (i) => ({ request_id: `0f8fad5b-d9cb-469f-a165-70867728${String(i % 10_000).padStart(4, '0')}`, trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', method: 'GET', path: '/bench', rule: 'bench', status: 200, code: undefined, duration_ms: 0.412 })
  const before = process.cpuUsage()
  const main0 = mainThreadNs()
  for (let i = 0; i < n; i += perTurn) {
    for (let k = 0; k < perTurn; k++) log.info(line(i + k), 'request')
    await new Promise((r) => setImmediate(r))
  }
  await new Promise((r) => log.flush(r))
  const used = process.cpuUsage(before)
  const main = main0 === undefined ? (used.user + used.system) * 1000 : mainThreadNs() - main0
  process.stderr.write(JSON.stringify({ main: main / 1000 / n, process: (used.user + used.system) / n }))
}

/** CPU time of this process's main thread in ns (Linux); undefined elsewhere (the process's time is used). */
function mainThreadNs() {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0])
  } catch {
    return undefined
  }
}
