import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Pool } from 'undici'
import { clean, start } from './helpers/cli.js'
import { exitOf, until } from './helpers/wait.js'

/**
 * An upstream that answers every request after `delayMs` (so requests are in flight at SIGTERM);
 * `received()` counts the requests it has seen.
 */
async function slowUpstream(t: Test, delayMs: number): Promise<{ url: string; received: () => number }> {
  let received = 0
  const server = createServer((req, res) => {
    received++
    req.resume()
    const timer = setTimeout(() => res.end(`done ${req.url}`), delayMs)
    res.on('close', () => clearTimeout(timer))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received: () => received }
}

/** A config directory: one allow-all rule to `upstream`, ports 0, JSON logs. */
function gatewayConfig(t: Test, upstream: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-shutdown-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(
    join(dir, 'rules.yml'),
    `- id: slow
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
  proxy: { host: 127.0.0.1, port: 0 }
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

t.test('SIGTERM under load: every request started before the signal is answered, then exit 0', async (t) => {
  const upstream = await slowUpstream(t, 150)
  const config = gatewayConfig(t, upstream.url)
  const gw = await start(['serve', '-c', config], /gateway listening/, { env: clean() })
  t.teardown(() => gw.stop())
  const port = /"proxy":"[^"]*:(\d+)"/.exec(gw.output())![1]
  // Established keep-alive connections, as a load balancer keeps them: the signal must not cost
  // the requests already sent on them, even those still in transit.
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 16 })
  t.teardown(() => pool.destroy())
  let signalled = false
  let started = 0
  const results: { status: number | string }[] = []
  const loop = async (i: number): Promise<void> => {
    for (let n = 0; !signalled; n++) {
      started++
      const status = await pool.request({ method: 'GET', path: `/c${i}/r${n}` }).then(
        async (r) => (await r.body.text(), r.statusCode),
        (err: Error) => `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`,
      )
      results.push({ status })
    }
  }
  const loops = Array.from({ length: 16 }, (_, i) => loop(i))
  // Two rounds answered: the connections are established and busy.
  await until(() => results.length >= 32, 'two rounds of answers')
  const exited = exitOf(gw.child)
  const closed = once(gw.child, 'close')
  // Loops start no request after this point; every one counted was started before the signal.
  signalled = true
  // Each has reached the upstream before the signal: what this test checks is that requests in
  // flight are answered (the ones still on their way are serve.shutdown_delay's, and
  // gateway-drain.test.ts's, business).
  await until(() => upstream.received() === started, 'the upstream to receive every started request')
  gw.child.kill('SIGTERM')
  await Promise.all(loops)
  t.ok(results.length >= 48, `${results.length} requests, 16 of them in flight at the signal`)
  t.same(results.filter((r) => r.status !== 200), [], 'none dropped')
  t.same(await exited, { code: 0, signal: null }, 'exit 0')
  t.match(gw.output(), /"msg":"shutting down"/)
  // The requests in flight at the signal are logged while the gateway closes, just before it
  // exits: their lines must not be lost with the process. ('close': stdout read to its end.)
  await closed
  const requestLines = gw
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{') && (JSON.parse(l) as { msg?: string }).msg === 'request')
  t.equal(requestLines.length, results.length, 'exactly one request line per request answered')
  t.match(JSON.parse(gw.output().trimEnd().split('\n').at(-1)!), { msg: 'shut down; exiting' }, 'the line logged just before the exit is there too')
})

t.test('requests longer than serve.shutdown_grace are cut when it ends; the exit is still clean', async (t) => {
  const upstream = await slowUpstream(t, 60_000)
  const config = gatewayConfig(t, upstream.url)
  // Seconds, so that the bounds below tell it from a busy machine's delays, and under a third of
  // the 10 s default, so that they tell it from that too.
  const graceMs = 3000
  const gw = await start(['serve', '-c', config], /gateway listening/, { env: clean({ SERVE_SHUTDOWN_GRACE: `${graceMs}ms` }) })
  t.teardown(() => gw.stop())
  const port = /"proxy":"[^"]*:(\d+)"/.exec(gw.output())![1]
  const pool = new Pool(`http://127.0.0.1:${port}`)
  t.teardown(() => pool.destroy())
  const hung = pool.request({ method: 'GET', path: '/hangs' }).then(
    (r) => r.statusCode,
    (err: Error) => err.message,
  )
  await until(() => upstream.received() === 1, 'the request to reach the upstream')
  const exited = exitOf(gw.child)
  const signalledAt = Date.now()
  gw.child.kill('SIGTERM')
  t.same(await exited, { code: 0, signal: null }, 'exit 0')
  const took = Date.now() - signalledAt
  // Not before the grace ends (the cut is a timer), and right after it: long before the upstream
  // would answer (60 s) or the default grace (10 s) would end.
  t.ok(took >= graceMs && took < 2 * graceMs, `exited ${took}ms after the signal (grace ${graceMs}ms)`)
  t.type(await hung, 'string', 'the hung request was cut')
})
