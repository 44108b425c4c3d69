// serve.proxy.upstream: a saturated upstream origin costs at most max_connections sockets and
// max_queued waiting requests; beyond that the gateway answers 503 at once, and the write
// timeout bounds queue + connect + waiting for headers, so queued requests do not time out at
// 2×, 3× … the configured timeout.
import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import t from 'tap'
import { Agent, request } from 'undici'
import { timed, until } from './helpers/faults.js'
import { ALL_HANDLERS, startGateway } from './helpers/servers.js'

/**
 * Long enough that a busy machine answers the whole burst's 503s well before it: the tests
 * compare events with this timeout, never with a small absolute figure.
 */
const WRITE_MS = 4000
const MAX_CONNECTIONS = 2
const MAX_QUEUED = 3
/**
 * The deadline is a plain timer started at dispatch, so a queued request times out at 1× the
 * write timeout; the bug this guards against (a timeout per stage) answers at 2×, 3× …
 */
const DEADLINE_BOUND_MS = 2 * WRITE_MS

/**
 * An upstream that, while `hang` is set, reads requests and never answers; otherwise it answers
 * 200 'ok'. Counts connections open at once (`peak`) and requests received.
 */
async function startUpstream(): Promise<{ url: string; hang: boolean; requests: number; open: () => number; peak: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let peak = 0
  const state = {
    hang: true,
    requests: 0,
    url: '',
    open: () => sockets.size,
    peak: () => peak,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
  const server: Server = createServer((req, res) => {
    state.requests++
    req.resume()
    if (!state.hang) res.end('ok')
  })
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    peak = Math.max(peak, sockets.size)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return state
}

const upstream = await startUpstream()
t.teardown(() => upstream.close())
const gw = await startGateway(
  {
    'rules.yml': `
- id: slow
  match: { url: 'http://gw.test/slow', methods: [GET] }
  upstream: { url: '${upstream.url}' }
  authenticators: [{ handler: anonymous }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`,
  },
  {
    serve: {
      proxy: {
        host: '127.0.0.1',
        port: 0,
        timeout: { write: `${WRITE_MS}ms` },
        upstream: { max_connections: MAX_CONNECTIONS, max_queued: MAX_QUEUED },
      },
      api: { host: '127.0.0.1', port: 0 },
    },
    authenticators: ALL_HANDLERS.authenticators,
  },
)
t.teardown(() => gw.close())
// The client's own pool is larger than the burst, so the gateway's limits are what is measured.
const agent = new Agent({ connections: 100 })
t.teardown(() => agent.close())

interface Answer {
  status: number
  retryAfter: string | undefined
  body: unknown
  ms: number
}

async function get(): Promise<Answer> {
  const { value, ms } = await timed(async () => {
    const res = await request(`${gw.proxy}/slow`, { dispatcher: agent, headers: { host: 'gw.test' } })
    const text = await res.body.text()
    const retryAfter = res.headers['retry-after']
    return {
      status: res.statusCode,
      retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
      body: res.headers['content-type'] === 'application/json' ? (JSON.parse(text) as unknown) : text,
    }
  })
  return { ...value, ms }
}

t.test('upstream hanging, 2 connections + queue 3, 20 concurrent → 15 × 503 at once, 5 × 504 within the write timeout', async (t) => {
  const answers = await Promise.all(Array.from({ length: 20 }, () => get()))

  const busy = answers.filter((a) => a.status === 503)
  t.equal(busy.length, 20 - MAX_CONNECTIONS - MAX_QUEUED, '15 refused at once')
  t.same(busy[0]?.body, { error: { code: 503, status: 'Service Unavailable', message: 'The upstream is busy, try again later' } })
  t.same([...new Set(busy.map((a) => a.retryAfter))], ['1'], 'every 503 carries Retry-After: 1')
  const late = answers.filter((a) => a.status === 504)
  const slowestBusy = Math.max(...busy.map((a) => a.ms))
  const firstLate = Math.min(...late.map((a) => a.ms))
  t.ok(slowestBusy < firstLate, `without waiting for the upstream (slowest 503 after ${slowestBusy}ms, first 504 after ${firstLate}ms)`)

  t.equal(late.length, MAX_CONNECTIONS + MAX_QUEUED, '5 timed out: 2 on connections, 3 in the queue')
  t.same(late[0]?.body, { error: { code: 504, status: 'Gateway Timeout', message: 'The upstream did not answer in time' } })
  const times = late.map((a) => a.ms).sort((a, b) => a - b)
  t.ok(
    times.every((ms) => ms >= WRITE_MS - 50 && ms < DEADLINE_BOUND_MS),
    `all after 1× the write timeout of ${WRITE_MS}ms and before 2×, queued ones included: ${times.join(', ')}ms`,
  )

  t.equal(upstream.peak(), MAX_CONNECTIONS, 'never more than max_connections sockets to the upstream')
  // A queued request may still reach a freed socket just before its own deadline (the burst's
  // dispatches are spread over some milliseconds), so the exact number may exceed 2.
  t.ok(upstream.requests <= MAX_CONNECTIONS + MAX_QUEUED, `no request reached the upstream twice (${upstream.requests} sent)`)
})

t.test('after the upstream recovers, requests succeed again', async (t) => {
  upstream.hang = false
  const full = MAX_CONNECTIONS + MAX_QUEUED
  const burst = async (): Promise<Answer[]> => Promise.all(Array.from({ length: full }, () => get()))
  // The 3 requests that timed out in the queue keep their place until undici hands them a
  // socket and they are aborted there (it cannot drop them from its queue), so the slots come
  // back a connect later, not at the 504. A full burst of 200s proves every count was returned.
  const recovered = await until(async () => (await burst()).every((a) => a.status === 200), DEADLINE_BOUND_MS, 50)
  t.ok(recovered >= 0, `a burst of connections + queue requests all get 200 again (${recovered}ms after the 504s)`)
  for (const round of [1, 2]) {
    const answers = await burst()
    t.same(
      answers.map((a) => a.status),
      Array.from({ length: full }, () => 200),
      `round ${round}: ${full} requests at once → all 200`,
    )
    t.same([...new Set(answers.map((a) => a.body))], ['ok'])
  }
})
