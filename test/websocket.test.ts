import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { WebSocket, WebSocketServer } from 'ws'
import { startGateway } from './helpers/servers.js'
import { until } from './helpers/wait.js'

// The upstream: a real WebSocket server that greets, echoes, and records every handshake and
// every TCP connection (to prove denied upgrades never reach it).
const handshakes: IncomingHttpHeaders[] = []
let tcpConnections = 0
const closes: { code: number; reason: string }[] = []
const upstream = createServer((_req, res) => res.writeHead(404).end())
upstream.on('connection', () => tcpConnections++)
const wss = new WebSocketServer({
  server: upstream,
  handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
  // The upstream's own refusal, which the gateway must relay as is.
  verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, code?: number) => void) =>
    info.req.url === '/ws/refuse' ? done(false, 418) : done(true),
})
wss.on('connection', (ws, req) => {
  handshakes.push(req.headers)
  ws.send(`hello ${req.url}`)
  ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo:${data.toString()}`, { binary: isBinary }))
  ws.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }))
})
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
t.teardown(() => {
  wss.close()
  upstream.closeAllConnections()
  upstream.close()
})

const rule = (id: string, path: string, authn: string, authz: string, url = upstreamUrl): string => `
- id: ${id}
  match: { url: 'http://gw.test${path}<.*>', methods: [GET] }
  upstream: { url: '${url}' }
  authenticators: [{ handler: ${authn}, config: {} }]
  authorizer: { handler: ${authz} }
  mutators: [{ handler: header, config: { headers: { X-User: '{{ print .Subject }}' } } }]
`
/**
 * serve.shutdown_grace: seconds, so that the bounds on close() tell it from a busy machine's
 * delays, and a fifth of the 10 s default, so that they tell it from that too.
 */
const GRACE_MS = 2000
const gw = await startGateway(
  {
    'rules.yml': [
      rule('ws', '/ws/', 'anonymous', 'allow'),
      rule('private', '/private/', 'unauthorized', 'allow'),
      rule('forbidden', '/forbidden/', 'noop', 'deny'),
      rule('down', '/down/', 'anonymous', 'allow', 'http://127.0.0.1:1'),
    ].join(''),
  },
  { serve: { proxy: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0 }, shutdown_grace: `${GRACE_MS}ms` } },
)
const wsBase = gw.proxy.replace('http:', 'ws:')

/** Opens a WebSocket through the gateway; resolves once open, with the first message received. */
function open(path: string, protocols: string[] = []): Promise<{ ws: WebSocket; first: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsBase}${path}`, protocols, { headers: { host: 'gw.test' } })
    ws.once('message', (data) => resolve({ ws, first: data.toString() }))
    ws.once('error', reject)
  })
}

/** A handshake the gateway (or upstream) refuses: its status, body and headers. */
function refused(path: string): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsBase}${path}`, { headers: { host: 'gw.test' } })
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
    })
    ws.on('open', () => reject(new Error('unexpectedly upgraded')))
    ws.on('error', () => undefined)
  })
}

function next(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data: Buffer, binary) => resolve({ data, binary })))
}

t.test('allowed upgrade: tunnelled, messages flow both ways, the upstream sees the mutated header', async (t) => {
  const { ws, first } = await open('/ws/room?x=1', ['chat'])
  t.equal(first, 'hello /ws/room?x=1', 'upstream → client')
  t.equal(ws.protocol, 'chat', "the upstream's handshake answer reaches the client")
  ws.send('ping')
  t.equal((await next(ws)).data.toString(), 'echo:ping', 'client → upstream → client')
  const big = Buffer.alloc(1 << 20, 7)
  ws.send(big)
  const echoed = await next(ws)
  t.ok(echoed.binary && echoed.data.equals(big), 'a 1 MiB binary frame comes back intact')

  const h = handshakes.at(-1)!
  t.equal(h['x-user'], 'anonymous', 'mutator header sent upstream')
  t.equal(h['x-forwarded-for'], '127.0.0.1')
  t.equal(h.host, (upstreamUrl.slice('http://'.length)), "the upstream's Host (no preserve_host)")
  t.ok(h['x-request-id'])

  const closed = new Promise((r) => ws.once('close', r))
  const closesBefore = closes.length
  ws.close(1000, 'bye')
  await closed
  await until(() => closes.length > closesBefore, 'the upstream to see the close')
  t.same(closes.at(-1), { code: 1000, reason: 'bye' }, 'the close handshake crosses the tunnel')
  t.ok(gw.logs.some((l) => l.msg === 'request' && l.rule === 'ws' && l.status === 101 && l.upgrade === 'websocket'))
})

t.test('denied upgrades get the error handler answer and never reach the upstream', async (t) => {
  const before = tcpConnections
  const unauthorized = await refused('/private/x')
  t.equal(unauthorized.status, 401)
  t.match(JSON.parse(unauthorized.body), { error: { code: 401 } })
  t.equal(unauthorized.headers.connection, 'close')
  const forbidden = await refused('/forbidden/x')
  t.equal(forbidden.status, 403)
  const none = await refused('/nowhere')
  t.equal(none.status, 404)
  t.match(JSON.parse(none.body), { error: { code: 404, message: 'Requested url does not match any rules' } })
  t.equal(tcpConnections, before, 'no connection to the upstream')
})

t.test("the upstream's refusal is relayed; an unreachable upstream is 502", async (t) => {
  t.equal((await refused('/ws/refuse')).status, 418)
  const down = await refused('/down/x')
  t.equal(down.status, 502)
  t.ok(gw.logs.some((l) => l.msg === 'upstream failed' && l.rule === 'down'))
})

t.test('shutdown: open tunnels are cut when the grace ends, and close() returns', async (t) => {
  const { ws } = await open('/ws/long')
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
  const started = Date.now()
  await gw.close()
  const elapsed = Date.now() - started
  // The cut is a timer (so not before the grace), and close() returns right after it.
  t.ok(elapsed >= GRACE_MS - 50 && elapsed < 2 * GRACE_MS, `close took ${elapsed}ms (grace ${GRACE_MS}ms)`)
  t.equal(await closed, 1006, 'the client sees the connection drop')
})
