#!/usr/bin/env node
// The servers bench/run.js measures the gateway against: the upstream every target forwards to,
// a bare Node proxy (the baseline), and nginx as a reverse proxy (the reference, when installed).
// The first two are this script run as a child process (`node bench/baselines.js upstream` or
// `bare <upstream origin>`); each reports its port over IPC and leaves when its parent does.
// See bench/README.md.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HOST = '127.0.0.1'
const SELF = fileURLToPath(import.meta.url)

/** The upstream answers with the request headers it received on this path (sanity checks only). */
export const ECHO_PATH = '/bench/echo-headers'

if (process.argv[1] === SELF) {
  const [role, upstream] = process.argv.slice(2)
  if (role === 'upstream') await listenAndReport(upstreamServer())
  else if (role === 'bare') await listenAndReport(await bareProxy(upstream))
  else {
    console.error('usage: node bench/baselines.js upstream | bare <upstream origin>')
    process.exit(2)
  }
}

/** 200 with a small fixed body; on ECHO_PATH, the request headers it received as JSON. */
function upstreamServer() {
  const body = Buffer.from('{"ok":true}')
  return createServer((req, res) => {
    req.resume()
    // One string compare per request, for every target alike.
    const out = req.url === ECHO_PATH ? Buffer.from(JSON.stringify(req.headers)) : body
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': out.length })
    res.end(out)
  })
}

/**
 * The baseline: the fastest plain Node proxy we could write in a dozen lines. node:http in front
 * of an undici Pool with the gateway's pool options (src/gateway/upstreams.ts with the default
 * serve.proxy settings: 256 connections, no pipelining, the write timeout for headers and body),
 * streaming both ways with `Pool.stream`; no rules, no logging, no header work beyond dropping
 * hop-by-hop headers and setting Host. The same as ../shared/perf/bare-proxy.mjs.
 */
async function bareProxy(origin) {
  const { Pool } = await import('undici')
  const pool = new Pool(origin, { connections: 256, pipelining: 1, connectTimeout: 10_000, headersTimeout: 120_000, bodyTimeout: 120_000 })
  const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate'])
  const host = new URL(origin).host
  const forwardable = (headers) => {
    const out = {}
    for (const k in headers) if (!hopByHop.has(k)) out[k] = headers[k]
    return out
  }
  return createServer((req, res) => {
    const headers = forwardable(req.headers)
    headers.host = host
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0'
    const factory = ({ statusCode, headers: up }) => {
      res.writeHead(statusCode, forwardable(up))
      return res
    }
    pool.stream({ path: req.url, method: req.method, headers, body: hasBody ? req : null }, factory).catch(() => {
      if (!res.headersSent) res.writeHead(502)
      res.end()
    })
  })
}

async function listenAndReport(server) {
  server.keepAliveTimeout = 60_000
  await new Promise((r) => server.listen(0, HOST, r))
  process.send({ port: server.address().port })
  // The parent owns our lifetime: leave when it goes.
  process.on('disconnect', () => process.exit(0))
}

/**
 * Starts a role of this script and resolves with its process and port.
 * @param {string[]} roleArgs e.g. ['bare', 'http://127.0.0.1:1234']
 */
export async function startBaseline(roleArgs) {
  const child = spawn(process.execPath, [SELF, ...roleArgs], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`bench/baselines.js ${roleArgs.join(' ')} exited with ${code} before it listened`)
  })
  const [msg] = await withTimeout(Promise.race([once(child, 'message'), exited]), 10_000, `bench/baselines.js ${roleArgs.join(' ')} did not start`)
  exited.catch(() => {})
  return { child, port: msg.port }
}

/** Ends a child process and resolves once it has exited (at once if it already has); SIGKILL after graceMs. */
export async function stopChild(child, signal = 'SIGTERM', graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/**
 * The nginx binary, or undefined when it is not installed (CI installs nginx-light).
 * @returns {string | undefined}
 */
export function findNginx() {
  return ['nginx', '/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v'], { stdio: 'ignore' }).status === 0)
}

/**
 * nginx's config as a reverse proxy in front of `upstream`: one worker process, keep-alive
 * connections to the upstream (HTTP/1.1, Connection cleared), everything under `dir`. The access
 * log is written to /dev/null when `accessLog` is true (a line per request, as the gateway at
 * log.level info), and off otherwise (as the gateway at warn).
 * @param {{ dir: string, port: number, upstream: string, accessLog: boolean }} opts
 * @returns {string}
 */
export function nginxConfig({ dir, port, upstream, accessLog }) {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `${k}_temp_path ${dir}/${k};`).join(' ')
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log ${accessLog ? '/dev/null' : 'off'};
  ${temp}
  keepalive_requests 1000000;
  upstream bench_upstream { server ${new URL(upstream).host}; keepalive 256; }
  server {
    listen ${HOST}:${port};
    location / { proxy_pass http://bench_upstream; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`
}

/**
 * Runs nginx as the current user with a prefix of its own under `dir`; resolves once it answers.
 * `wrap` prefixes the command (taskset), so that the worker it forks inherits the cores.
 * @returns {Promise<{ child: import('node:child_process').ChildProcess, url: string, stop: () => Promise<void> }>}
 */
export async function startNginx({ bin, dir, port, upstream, accessLog, wrap = [] }) {
  mkdirSync(dir, { recursive: true })
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, nginxConfig({ dir, port, upstream, accessLog }))
  const [cmd, ...args] = [...wrap, bin, '-e', 'stderr', '-p', `${dir}/`, '-c', conf]
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (c) => (stderr += c))
  // QUIT: graceful, the master waits for its worker.
  const stop = () => stopChild(child, 'SIGQUIT')
  const url = `http://${HOST}:${port}`
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${stderr}`)
    if ((await fetch(url).then((r) => r.status, () => 0)) === 200) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`nginx did not answer 200 within 10 s:\n${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return { child, url, stop }
}

export function withTimeout(promise, ms, message) {
  let timer
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() =>
    clearTimeout(timer),
  )
}
