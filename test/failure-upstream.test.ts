// Failure behaviour: the upstream down, hanging, or stalling mid-body. 502/504 quickly, within
// serve.proxy.timeout.write, and no pile-up: hung requests neither hold up other routes nor
// leave connections behind.
import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import t from 'tap'
import { Agent, request } from 'undici'
import { freePort, timed, until } from './helpers/faults.js'
import { ALL_HANDLERS, startGateway, startUpstream } from './helpers/servers.js'

/**
 * Long enough that on a busy machine the work the tests compare against it (50 requests, a
 * healthy route answering, clients going away) ends well before it; the tests compare events
 * with this timeout, never with a small absolute figure.
 */
const WRITE_MS = 4000
/**
 * An answer before this can only come from serve.proxy.timeout.write: undici's own headers and
 * body timeouts are 300 s. (undici checks timeouts on a coarse clock, so the write timeout fires
 * between WRITE_MS and about WRITE_MS + 1 s, later still when the machine is busy.)
 */
const NOT_A_DEFAULT_MS = WRITE_MS * 5

/**
 * An upstream that accepts and reads requests and never answers (or, with `stall`, sends headers
 * and part of the body, then nothing). `inflight`: requests whose connection is still open, i.e.
 * that the gateway has not given up on; `peak`: most connections open at once.
 */
async function startHanging(stall = false): Promise<{ url: string; requests: number; inflight: () => number; peak: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let peak = 0
  let inflight = 0
  const state = { requests: 0 }
  const server: Server = createServer((req, res) => {
    state.requests++
    inflight++
    req.socket.once('close', () => inflight--)
    req.resume()
    if (stall) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' })
      res.write('partial ')
    }
  })
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    peak = Math.max(peak, sockets.size)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return state.requests
    },
    inflight: () => inflight,
    peak: () => peak,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

const ok = await startUpstream()
t.teardown(() => ok.close())
const hanging = await startHanging()
t.teardown(() => hanging.close())
const stalling = await startHanging(true)
t.teardown(() => stalling.close())
const closedPort = await freePort()

const rule = (id: string, upstream: string): string => `
- id: ${id}
  match: { url: 'http://gw.test/${id}', methods: [GET] }
  upstream: { url: '${upstream}' }
  authenticators: [{ handler: anonymous }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`
const gw = await startGateway(
  { 'rules.yml': rule('ok', ok.url) + rule('down', `http://127.0.0.1:${closedPort}`) + rule('hang', hanging.url) + rule('stall', stalling.url) },
  {
    serve: { proxy: { host: '127.0.0.1', port: 0, timeout: { write: `${WRITE_MS}ms` } }, api: { host: '127.0.0.1', port: 0 } },
    authenticators: ALL_HANDLERS.authenticators,
  },
)
t.teardown(() => gw.close())
// The clients' own pool: big enough that the gateway, not the test client, is what is measured.
const agent = new Agent({ connections: 200 })
t.teardown(() => agent.close())

async function get(path: string, signal?: AbortSignal): Promise<{ status: number; body: unknown; ms: number }> {
  const { value, ms } = await timed(async () => {
    try {
      const res = await request(`${gw.proxy}${path}`, { dispatcher: agent, headers: { host: 'gw.test' }, ...(signal === undefined ? {} : { signal }) })
      const text = await res.body.text()
      return { status: res.statusCode, body: res.headers['content-type'] === 'application/json' ? (JSON.parse(text) as unknown) : text }
    } catch (err) {
      return { status: 0, body: (err as Error).name }
    }
  })
  return { ...value, ms }
}

t.test('upstream down → 502 in the error handler’s shape, at once', async (t) => {
  const r = await get('/down')
  t.equal(r.status, 502)
  t.same(r.body, { error: { code: 502, status: 'Bad Gateway', message: 'The upstream could not be reached' } })
  // Not waited on: waiting for a connect or write timeout ends in 504, so a 502 "could not be
  // reached" says the refusal itself was answered (no clock is read).
  const burst = await Promise.all(Array.from({ length: 50 }, () => get('/down')))
  t.same([...new Set(burst.map((x) => x.status))], [502], '50 concurrent → 50 × 502')
  t.same([...new Set(burst.map((x) => JSON.stringify(x.body)))], [JSON.stringify(r.body)], 'each refused, none timed out')
})

t.test('upstream hanging → 504 within the write timeout', async (t) => {
  const r = await get('/hang')
  t.equal(r.status, 504)
  t.same(r.body, { error: { code: 504, status: 'Gateway Timeout', message: 'The upstream did not answer in time' } })
  t.ok(r.ms >= WRITE_MS - 50 && r.ms < NOT_A_DEFAULT_MS, `after serve.proxy.timeout.write ${WRITE_MS}ms: ${r.ms}ms`)
})

t.test('50 concurrent requests to a hanging upstream: all 504 in time, other routes unaffected, no connection left behind', async (t) => {
  const n = 50
  // The previous test's request was aborted as its 504 was sent; the upstream may see that
  // connection close a few milliseconds later, which must not count towards this test's peak.
  await until(() => hanging.inflight() === 0, NOT_A_DEFAULT_MS)
  for (const round of [1, 2]) {
    const before = hanging.requests
    let settled = 0
    const burst = Promise.all(Array.from({ length: n }, () => get('/hang').finally(() => settled++)))
    // Meanwhile, a route to a healthy upstream answers as if nothing happened: while every one
    // of the n requests is still held by the hanging upstream.
    await until(() => hanging.requests - before === n, NOT_A_DEFAULT_MS)
    const others = await Promise.all(Array.from({ length: 20 }, () => get('/ok')))
    const stillHeld = settled === 0 && hanging.inflight() === n
    const results = await burst
    t.same([...new Set(results.map((x) => x.status))], [504], `round ${round}: all ${n} → 504`)
    const slowest = Math.max(...results.map((x) => x.ms))
    t.ok(slowest < NOT_A_DEFAULT_MS, `round ${round}: the slowest answered after ${slowest}ms (write timeout ${WRITE_MS}ms)`)
    t.same([...new Set(others.map((x) => x.status))], [200], `round ${round}: the healthy route answered 200 throughout`)
    t.ok(stillHeld, `round ${round}: and before any of the ${n} hanging requests was answered`)
    t.equal(hanging.requests - before, n, `round ${round}: each request reached the upstream once (no retries piling on)`)
    t.ok((await until(() => hanging.inflight() === 0, NOT_A_DEFAULT_MS)) >= 0, `round ${round}: every timed-out upstream request is closed (${hanging.inflight()} left)`)
  }
  // undici's Pool opens a connection per concurrent request, up to serve.proxy.upstream
  // max_connections (256 by default; test/upstream-limits.test.ts runs with a small cap).
  t.ok(hanging.peak() <= n, `connections to the upstream never exceeded the concurrent requests (peak ${hanging.peak()})`)
})

t.test('clients that give up release their upstream connection at once, not at the write timeout', async (t) => {
  const before = hanging.requests
  const giveUp = new AbortController()
  const pending = Promise.all(Array.from({ length: 20 }, () => get('/hang', giveUp.signal)))
  // The clients give up once the gateway has forwarded all 20 (not after a fixed time, which a
  // busy machine could spend before forwarding them).
  t.ok((await until(() => hanging.requests - before === 20, NOT_A_DEFAULT_MS)) >= 0, 'all 20 reached the upstream')
  giveUp.abort()
  const aborted = await pending
  t.same([...new Set(aborted.map((x) => x.body))], ['AbortError'], 'the clients gave up')
  t.equal(hanging.requests - before, 20)
  // (undici then opens fresh idle keep-alive connections in their place; those carry no request.)
  const released = await until(() => hanging.inflight() === 0, WRITE_MS)
  // At the write timeout the 20 would be closed WRITE_MS after they were sent; half of it is
  // "at once" with room for a busy machine.
  t.ok(released >= 0 && released < WRITE_MS / 2, `the gateway closed the 20 upstream requests (${released}ms after the clients left)`)
  await until(() => gw.logs.filter((l) => l.msg === 'request' && l.rule === 'hang' && l.status === 499).length >= 20, NOT_A_DEFAULT_MS)
  t.equal(gw.logs.filter((l) => l.msg === 'request' && l.rule === 'hang' && l.status === 499).length, 20, 'logged as 499 (client closed)')
})

t.test('upstream stalling mid-body: the response is cut within the write timeout, not held open', async (t) => {
  const { value, ms } = await timed(async () => {
    const res = await request(`${gw.proxy}/stall`, { dispatcher: agent, headers: { host: 'gw.test' } })
    const status = res.statusCode
    try {
      await res.body.text()
      return { status, cut: false }
    } catch {
      return { status, cut: true }
    }
  })
  t.equal(value.status, 200, 'the headers had been forwarded')
  t.ok(value.cut, 'the client sees a cut response, never a silently truncated one')
  t.ok(ms >= WRITE_MS - 50 && ms < NOT_A_DEFAULT_MS, `cut after the body timeout (${ms}ms)`)
  t.ok((await until(() => stalling.inflight() === 0, NOT_A_DEFAULT_MS)) >= 0, 'the stalled upstream request is closed')
})
