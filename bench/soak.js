#!/usr/bin/env node
// Soak: the gateway with cached introspection (the `introspection-hit` scenario of bench/run.js)
// under steady autocannon load for a long time (default 10 minutes), reporting the gateway
// process's RSS and open file descriptors at the start, every minute, and at the end. Growth
// over 10 % means something is kept per request (a leak). Loopback only, bounded in time.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startBaseline } from './baselines.js'
import { startGateway } from './gateway.js'
import { clientCredentialsToken, registerClient, startTokenServer, tokenServerEnv } from './token-server-process.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '600' },
    connections: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '30' },
    sample: { type: 'string', default: '60' },
    cli: { type: 'string', default: join(ROOT, 'dist/cli/main.js') },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (args.help) {
  console.log('usage: node bench/soak.js [--duration s (600)] [--connections n (20)] [--warmup s (30)] [--sample s (60)]')
} else {
  main().catch((err) => {
    console.error(`soak failed: ${err instanceof Error ? err.message : err}`)
    process.exitCode = 1
  })
}

/** RSS (MiB) and open file descriptors of a process, from /proc (Linux). */
function usage(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return { rssMiB: rssKb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length }
}

async function main() {
  const { default: autocannon } = await import('autocannon')
  const duration = Number(args.duration)
  const connections = Number(args.connections)
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-soak-'))
  const children = []
  try {
    // The upstream is bench/run.js's, in its own process.
    const up = await startBaseline(['upstream'])
    children.push({ kill: () => up.child.kill() })
    const upstream = `http://127.0.0.1:${up.port}`
    const server = await startTokenServer({ cli: args.cli, cwd: ROOT, env: tokenServerEnv('memory') })
    children.push({ kill: () => server.child.kill('SIGTERM') })
    const client = await registerClient(server)
    const token = await clientCredentialsToken(server, client)
    const gw = await startGateway({ name: 'introspection-hit', ctx: { server }, cli: args.cli, cwd: ROOT, tmp, upstream, logLevel: 'info' })
    children.push({ kill: () => gw.stop() })
    const opts = { url: gw.url, connections, headers: { authorization: `Bearer ${token}` } }

    console.error(`warming up ${args.warmup} s…`)
    await autocannon({ ...opts, duration: Number(args.warmup) })
    global.gc?.()
    const start = usage(gw.child.pid)
    console.error(`start: rss ${start.rssMiB.toFixed(1)} MiB, ${start.fds} fds; soaking ${duration} s with ${connections} connections`)
    const samples = [{ t: 0, ...start }]
    const sampler = setInterval(() => {
      const u = usage(gw.child.pid)
      const t = Math.round((Date.now() - began) / 1000)
      samples.push({ t, ...u })
      console.error(`  ${t} s: rss ${u.rssMiB.toFixed(1)} MiB, ${u.fds} fds`)
    }, Number(args.sample) * 1000)
    const began = Date.now()
    const r = await autocannon({ ...opts, duration })
    clearInterval(sampler)
    // Idle a moment so request-scoped garbage can be collected before the last reading.
    await new Promise((res) => setTimeout(res, 5000))
    const end = usage(gw.child.pid)
    samples.push({ t: duration, ...end })
    const growth = (a, b) => ((b - a) / a) * 100
    const rss = growth(start.rssMiB, end.rssMiB)
    const fds = growth(start.fds, end.fds)
    console.log(`\nsoak: introspection-hit, ${connections} connections, ${duration} s, ${r.requests.total} requests, ${r.non2xx + r.errors + r.timeouts} failed`)
    console.log(`rss  ${start.rssMiB.toFixed(1)} → ${end.rssMiB.toFixed(1)} MiB (${rss >= 0 ? '+' : ''}${rss.toFixed(1)} %)`)
    console.log(`fds  ${start.fds} → ${end.fds} (${fds >= 0 ? '+' : ''}${fds.toFixed(1)} %)`)
    const ok = rss < 10 && fds < 10 && r.non2xx + r.errors === 0
    console.log(ok ? 'growth under 10 %: ok' : 'growth over 10 % or failed requests: investigate')
    if (!ok) process.exitCode = 1
  } finally {
    for (const c of children.reverse()) await c.kill()
    rmSync(tmp, { recursive: true, force: true })
  }
}
