import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { buildConfig } from '../../src/config/load.js'
import { createGateway, type Gateway } from '../../src/gateway/gateway.js'
import { createLogger } from '../../src/observability/logger.js'

export interface Seen {
  method: string
  url: string
  headers: IncomingHttpHeaders
}

/** An upstream on 127.0.0.1:0 that records what it received and answers with a JSON echo. */
export async function startUpstream(): Promise<{ server: Server; url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    req.resume()
    req.on('end', () => {
      const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(body)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** Collects log lines (JSON) written by a test gateway. */
export function logSink(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
  return { stream, lines }
}

export interface TestGateway {
  gateway: Gateway
  proxy: string
  api: string
  /** The Prometheus endpoint, e.g. http://127.0.0.1:1234/metrics. */
  metrics: string
  /** Host header value rules should match on: 'gw.test'. */
  dir: string
  logs: Record<string, unknown>[]
  close(): Promise<void>
}

/** The handlers these tests use, all enabled. */
export const ALL_HANDLERS = {
  authenticators: { noop: { enabled: true }, anonymous: { enabled: true }, unauthorized: { enabled: true } },
  authorizers: { allow: { enabled: true }, deny: { enabled: true } },
  mutators: { noop: { enabled: true }, header: { enabled: true, config: { headers: {} } } },
  errors: { fallback: ['json'], handlers: { json: { enabled: true, config: {} } } },
}

/**
 * Starts an in-process gateway on port 0 with `rules` written to a temp directory
 * (file name → content). Extra config is deep-merged by buildConfig's caller semantics.
 */
export async function startGateway(
  rules: Record<string, string>,
  extra: Record<string, unknown> = {},
): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'))
  for (const [name, content] of Object.entries(rules)) writeFileSync(join(dir, name), content)
  const raw: Record<string, unknown> = {
    serve: { proxy: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0 } },
    ...ALL_HANDLERS,
    log: { level: 'info', format: 'json' },
    ...extra,
    // Merged, so that a test can set access_rules options and keep the temp directory.
    access_rules: { repositories: [dir], ...(extra.access_rules as Record<string, unknown> | undefined) },
  }
  // Port 0 for the metrics too (unless the test says otherwise): tests run in parallel, and
  // Oathkeeper's default 9000 would be taken by the first gateway.
  const serve = raw.serve as { prometheus?: unknown }
  raw.serve = { prometheus: { host: '127.0.0.1', port: 0 }, ...serve }
  const config = buildConfig(raw, {})
  const sink = logSink()
  const logger = createLogger(config.log, sink.stream)
  const gateway = createGateway(config, logger)
  const addrs = await gateway.start()
  return {
    gateway,
    proxy: `http://127.0.0.1:${addrs.proxy.port}`,
    api: `http://127.0.0.1:${addrs.api.port}`,
    metrics: `http://127.0.0.1:${addrs.metrics!.port}${config.serve.prometheus.metrics_path}`,
    dir,
    logs: sink.lines,
    async close() {
      await gateway.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
