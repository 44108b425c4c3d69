// Failure behaviour: the token server down, flaky or slow, behind a real gateway. Fail closed
// (503 in the error handler's shape), never let a request through unauthenticated, keep cached
// answers until their ttl, retry as configured, and recover on its own.
import t from 'tap'
import { Agent, request } from 'undici'
import { MemoryStore } from '../src/token-server/store/memory.js'
import { startRelay, timed, until } from './helpers/faults.js'
import { ALL_HANDLERS, startGateway, startUpstream } from './helpers/servers.js'
import { basic, call, startTokenServer, type RunningTokenServer } from './helpers/token-server.js'

/** The `json` error handler's body for GATEHOUSE_ERR_UNAVAILABLE. */
const UNAVAILABLE = { error: { code: 503, status: 'Service Unavailable', message: 'A service needed to check the request is unavailable' } }

const store = new MemoryStore()
let ts: RunningTokenServer = await startTokenServer({ store })
const ports = { public: Number(new URL(ts.publicUrl).port), admin: Number(new URL(ts.adminUrl).port) }
t.teardown(() => ts.close())
const up = await startUpstream()
t.teardown(() => up.close())
const agent = new Agent({ connections: 64 })
t.teardown(() => agent.close())

await call('POST', `${ts.adminUrl}/admin/clients`, { json: { client_id: 'svc', client_secret: 'secret-svc', grant_types: ['client_credentials'] } })
async function token(): Promise<string> {
  const r = await call('POST', `${ts.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('svc', 'secret-svc') })
  if (r.status !== 200) throw new Error(`token: ${JSON.stringify(r.body)}`)
  return r.body.access_token as string
}

/** Starts the token server again on the same ports over the same store (MemoryStore survives close()). */
async function restartTokenServer(): Promise<void> {
  ts = await startTokenServer({ store, config: { serve: { public: { port: ports.public }, admin: { port: ports.admin } } } })
}

/** A rule on `/<id>` with the given oauth2_introspection config (merged over the global one). */
function rule(id: string, config: Record<string, unknown>): string {
  return `
- id: ${id}
  match: { url: 'http://gw.test/${id}', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: oauth2_introspection, config: ${JSON.stringify(config)} }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`
}

async function gateway(rules: string) {
  const gw = await startGateway(
    { 'rules.yml': rules },
    { authenticators: { ...ALL_HANDLERS.authenticators, oauth2_introspection: { enabled: true, config: { introspection_url: `${ts.adminUrl}/admin/oauth2/introspect` } } } },
  )
  t.teardown(() => gw.close())
  const get = async (path: string, tok: string): Promise<{ status: number; body: unknown; ms: number }> => {
    const { value, ms } = await timed(async () => {
      const res = await request(`${gw.proxy}${path}`, { dispatcher: agent, headers: { host: 'gw.test', authorization: `Bearer ${tok}` } })
      const text = await res.body.text()
      return { status: res.statusCode, body: res.headers['content-type'] === 'application/json' ? (JSON.parse(text) as unknown) : text }
    })
    return { ...value, ms }
  }
  return { gw, get }
}

t.test('token server down: 503 in the error handler’s shape, cached answers until their ttl, recovery on the same port', async (t) => {
  const retry = { give_up_after: '300ms', max_delay: '50ms' }
  const { gw, get } = await gateway(rule('live', { retry }) + rule('cached', { retry, cache: { enabled: true, ttl: '4s' } }))
  const a = await token()
  const b = await token()
  t.equal((await get('/live', a)).status, 200)
  t.equal((await get('/cached', a)).status, 200)
  const cachedAt = Date.now()
  const reached = up.seen.length

  await ts.close()
  const down = await get('/live', a)
  t.equal(down.status, 503, 'a valid token, but nobody can say so: fail closed')
  t.same(down.body, UNAVAILABLE, 'the json error handler’s body')
  t.ok(down.ms >= 250 && down.ms < 1300, `given up after retry.give_up_after (300ms): ${down.ms}ms`)
  t.equal((await get('/cached', b)).status, 503, 'a token that was never cached')
  const hit = await get('/cached', a)
  t.ok(Date.now() - cachedAt < 3500, 'still inside the ttl')
  t.equal(hit.status, 200, 'a cached active answer keeps working while the token server is down')

  // A burst of every kind of token: none gets through.
  const tokens = [a, b, 'ory_at_made-up.signature', `${a}x`, 'garbage']
  const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => get('/live', tokens[i % tokens.length]!)))
  t.same([...new Set(burst.map((r) => r.status))], [503], 'all 40 requests of the burst → 503')
  t.equal(up.seen.length, reached + 1, 'only the cached request reached the upstream')
  const decision = await request(`${gw.api}/decisions/live`, { dispatcher: agent, headers: { host: 'gw.test', authorization: `Bearer ${a}` } })
  t.equal(decision.statusCode, 503, 'the decision API (nginx auth_request, Envoy, Traefik) fails closed too')
  t.same(await decision.body.json(), UNAVAILABLE)

  await until(() => Date.now() - cachedAt > 4100, 5000)
  t.equal((await get('/cached', a)).status, 503, 'after the ttl the cached answer is gone: fail closed again')
  t.match(gw.logs.filter((l) => l.msg === 'request failed'), [{ code: 'GATEHOUSE_ERR_UNAVAILABLE', reason: /introspection failed after \d+ attempt/ }], 'logged with the reason')

  await restartTokenServer()
  const back = await get('/live', a)
  t.equal(back.status, 200, 'the first request after the token server is back succeeds: recovery needs nothing')
  t.equal((await get('/cached', b)).status, 200)
})

t.test('retries: failed attempts are retried with a growing, jittered backoff capped by max_delay, until give_up_after', async (t) => {
  const relay = await startRelay(ports.admin)
  t.teardown(() => relay.close())
  const via = `${relay.url}/admin/oauth2/introspect`
  const { get } = await gateway(
    rule('short', { introspection_url: via, retry: { give_up_after: '600ms', max_delay: '40ms' } }) +
      rule('long', { introspection_url: via, retry: { give_up_after: '600ms', max_delay: '250ms' } }),
  )
  const a = await token()
  t.equal((await get('/short', a)).status, 200, 'through the relay while it passes')

  // The port answers but every connection is reset at once: each attempt is one connection.
  await relay.set('reset')
  const attempts = async (path: string): Promise<{ status: number; ms: number; gaps: number[] }> => {
    const from = relay.accepted.length
    const r = await get(path, a)
    const times = relay.accepted.slice(from)
    return { status: r.status, ms: r.ms, gaps: times.slice(1).map((x, i) => x - times[i]!) }
  }
  // Bounds on the waits allow for a busy machine (a late timer only makes a wait longer), so
  // the cap is checked on the median, and growth by the longest wait.
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
  const short = await attempts('/short')
  t.equal(short.status, 503)
  t.ok(short.ms >= 550 && short.ms < 1500, `ends at give_up_after: ${short.ms}ms`)
  t.ok(short.gaps.length >= 6, `many attempts with a small max_delay (${short.gaps.length + 1})`)
  t.ok(median(short.gaps) <= 40 + 30, `waits capped by max_delay 40ms: ${short.gaps.join(', ')}`)
  t.ok(Math.min(...short.gaps) >= 5, 'never hammering: every wait is at least a few ms')

  const long = await attempts('/long')
  t.equal(long.status, 503)
  t.ok(long.ms >= 300 && long.ms < 1500, `ends by give_up_after: ${long.ms}ms`)
  t.ok(long.gaps.length >= 2 && long.gaps.length < short.gaps.length, `fewer attempts with a larger max_delay (${long.gaps.length + 1})`)
  t.ok(Math.max(...long.gaps) > 60, `waits grow beyond the first ones: ${long.gaps.join(', ')}`)

  // Connections refused outright (nothing listens): same outcome.
  await relay.set('refuse')
  const refused = await get('/short', a)
  t.equal(refused.status, 503)
  t.ok(refused.ms >= 550 && refused.ms < 1500, `refused until give_up_after: ${refused.ms}ms`)

  await relay.set('pass')
  t.equal((await get('/short', a)).status, 200, 'recovered as soon as the endpoint answers again')
})

t.test('slow token server: slower than give_up_after → 503 at give_up_after; slow but in time → 200', async (t) => {
  const relay = await startRelay(ports.admin)
  t.teardown(() => relay.close())
  const via = `${relay.url}/admin/oauth2/introspect`
  const { get } = await gateway(rule('slow', { introspection_url: via, retry: { give_up_after: '500ms', max_delay: '50ms' } }))
  const a = await token()
  const reached = up.seen.length

  await relay.set('delay', 200)
  const inTime = await get('/slow', a)
  t.equal(inTime.status, 200, 'a slow answer within the budget is used')
  t.ok(inTime.ms >= 190, `and waited for (${inTime.ms}ms)`)

  await relay.set('delay', 2000)
  const slow = await Promise.all(Array.from({ length: 10 }, () => get('/slow', a)))
  t.same(
    slow.map((r) => r.status),
    Array(10).fill(503),
    'every request that needed the answer failed closed',
  )
  const worst = Math.max(...slow.map((r) => r.ms))
  t.ok(worst < 1400, `none waited for the 2 s answer, but gave up after 500ms (slowest ${worst}ms)`)
  t.same(slow[0]!.body, UNAVAILABLE)
  t.equal(up.seen.length, reached + 1, 'only the in-time request reached the upstream')

  await relay.set('pass')
  t.equal((await get('/slow', a)).status, 200, 'fast again → 200')
})
