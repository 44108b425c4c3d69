import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { clean, start } from './helpers/cli.js'
import { rawConnection } from './helpers/raw-http.js'
import { exitOf, outputMatching, until } from './helpers/wait.js'

// serve.shutdown_delay through the built CLI, in one process and with node:cluster workers.
// Every wait is for an event (a log line, the upstream receiving a request, a connection
// closing, the process exiting); nothing depends on how long the delay takes to pass.

/** An upstream that answers `/fast…` at once and holds `/slow…` until `release()`. */
async function heldUpstream(t: Test): Promise<{ url: string; held: () => number; release(): void }> {
  const held: ServerResponse[] = []
  const server = createServer((req, res) => {
    req.resume()
    if (req.url?.startsWith('/slow') === true) held.push(res)
    else res.end('fast')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => held.length,
    release: () => {
      for (const res of held.splice(0)) res.end('slow')
    },
  }
}

function gatewayConfig(t: Test, upstream: string, workers: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-drain-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(
    join(dir, 'rules.yml'),
    `- id: all
  match: { url: 'http://<[^/]+>/<.*>', methods: [GET] }
  upstream: { url: '${upstream}' }
  authenticators: [{ handler: anonymous }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`,
  )
  const config = join(dir, 'gatehouse.yml')
  writeFileSync(
    config,
    `serve:
  proxy: { host: 127.0.0.1, port: 0, workers: ${workers} }
  api: { host: 127.0.0.1, port: 0 }
  prometheus: { host: 127.0.0.1, port: 0 }
access_rules: { repositories: ['${join(dir, 'rules.yml')}'] }
authenticators: { anonymous: { enabled: true } }
authorizers: { allow: { enabled: true } }
mutators: { noop: { enabled: true } }
log: { level: info, format: json }
`,
  )
  return config
}

async function startGateway(t: Test, upstream: string, workers: number, delay: string) {
  const gw = await start(['serve', '-c', gatewayConfig(t, upstream, workers)], workers > 1 ? /gateway workers ready/ : /gateway listening/, {
    env: clean({ SERVE_SHUTDOWN_DELAY: delay }),
    timeoutMs: 30_000,
  })
  t.teardown(() => gw.stop())
  const out = gw.output()
  const proxy = Number((/"proxy_port":(\d+)/.exec(out) ?? /"proxy":"[^"]*:(\d+)"/.exec(out))![1])
  const api = Number((/"api_port":(\d+)/.exec(out) ?? /"api":"[^"]*:(\d+)"/.exec(out))![1])
  const workerPids = [...out.matchAll(/"worker_pid":(\d+),[^\n]*"msg":"gateway worker ready"/g)].map((m) => Number(m[1]))
  return { gw, proxy, api, workerPids }
}

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: example.test\r\n\r\n`

/** Resolves with the error code of a fresh connection attempt, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve('connected')
    })
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return false
  } catch {
    return true
  }
}

for (const workers of [1, 2]) {
  const mode = workers === 1 ? 'one process' : `${workers} workers`

  t.test(`${mode}: during serve.shutdown_delay /health/ready answers 503 at once and requests are still answered`, async (t) => {
    const up = await heldUpstream(t)
    const { gw, proxy, api, workerPids } = await startGateway(t, up.url, workers, '60s')
    // Kept alive from before the signal, as a load balancer pools them (one per worker: the
    // primary hands new connections to the workers in turn).
    const pooled = Array.from({ length: workers }, () => rawConnection(proxy))
    for (const c of pooled) t.equal((await c.request(GET('/fast/before')).response).status, 200)

    gw.child.kill('SIGTERM')
    // The primary and every worker say so.
    await outputMatching(gw.child, gw.output, new RegExp(`("msg":"shutting down"[^]*){${workers === 1 ? 1 : workers + 1}}`))
    for (let i = 0; i < 2 * workers; i++) {
      // A new connection each time, so that every worker answers.
      const ready = await request(`http://127.0.0.1:${api}/health/ready`, { reset: true })
      t.equal(ready.statusCode, 503, '/health/ready: 503')
      t.same(await ready.body.json(), { errors: { shutdown: 'the gateway is shutting down' } })
    }
    const alive = await request(`http://127.0.0.1:${api}/health/alive`, { reset: true })
    t.equal(alive.statusCode, 200, '/health/alive: still 200')
    await alive.body.dump()

    for (let i = 0; i < 2 * workers; i++) {
      const late = await rawConnection(proxy).request(GET(`/fast/during-${i}`)).response
      t.equal(late.status, 200, 'a request on a new connection during the delay is answered')
      t.equal(late.headers.connection, 'close', '… with Connection: close')
    }
    for (const c of pooled) {
      const r = await c.request(GET('/fast/pooled')).response
      t.equal(r.status, 200, 'a request on a pooled connection during the delay is answered')
      t.equal(r.headers.connection, 'close')
      await c.closed
    }

    // A second signal does not wait for the delay; workers follow their primary at once.
    const exited = exitOf(gw.child)
    gw.child.kill('SIGTERM')
    t.equal((await exited).code, 1, 'a second signal exits at once')
    await until(() => workerPids.every(gone), 'every worker to exit')
  })

  t.test(`${mode}: when the delay ends, accepting stops, idle keep-alive connections are closed, requests in flight finish; exit 0`, async (t) => {
    const up = await heldUpstream(t)
    const { gw, proxy, workerPids } = await startGateway(t, up.url, workers, '100ms')
    const idle = Array.from({ length: workers }, () => rawConnection(proxy))
    for (const c of idle) t.equal((await c.request(GET('/fast/before')).response).status, 200)
    // Failures become values: a dropped request is an assertion's business, not an unhandled rejection.
    const busy = Array.from({ length: workers }, (_, i) =>
      rawConnection(proxy)
        .request(GET(`/slow/${i}`))
        .response.catch((err: Error) => ({ status: 0, headers: { connection: err.message }, body: '' })),
    )
    await until(() => up.held() === workers, 'the upstream to hold every slow request')

    const exited = exitOf(gw.child)
    gw.child.kill('SIGTERM')
    // Closed by the gateway while the slow requests are still held upstream.
    await Promise.all(idle.map((c) => c.closed))
    t.pass('idle keep-alive connections were closed')
    await until(async () => (await tryConnect(proxy)) === 'ECONNREFUSED', 'the proxy to stop accepting')
    t.equal(up.held(), workers, 'the slow requests are still in flight')
    up.release()
    for (const r of await Promise.all(busy)) {
      t.equal(r.status, 200, 'a request in flight at the signal finished')
      t.equal(r.headers.connection, 'close')
    }
    t.same(await exited, { code: 0, signal: null }, 'exit 0')
    t.ok(workerPids.every(gone), 'no worker outlives the primary')
  })
}
