import t from 'tap'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { startGateway, startUpstream } from './helpers/servers.js'
import { until } from './helpers/wait.js'

const up = await startUpstream()
t.teardown(() => up.close())

// An upstream that answers after a minute, for clients that leave before it does; counts requests.
let slowReceived = 0
const slow = createServer((_req, res) => {
  slowReceived++
  const timer = setTimeout(() => res.end('late'), 60_000)
  res.on('close', () => clearTimeout(timer))
})
await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r))
t.teardown(() => {
  slow.closeAllConnections()
  slow.close()
})
const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`

const rules = `
- id: root
  match: { url: 'http://gw.test/', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: bare
  match: { url: 'http://gw.test', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: unauthorized }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: public
  match: { url: 'http://gw.test/public/<.*>', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: admin
  match: { url: 'http://gw.test/admin/<.*>', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: unauthorized }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: slow
  match: { url: 'http://gw.test/slow', methods: [GET] }
  upstream: { url: '${slowUrl}' }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`

// A front proxy is trusted, and asked to decide with X-Forwarded-Host which rules apply.
const gw = await startGateway({ 'rules.yml': rules }, { serve: { proxy: { host: '127.0.0.1', port: 0, trust_forwarded_headers: true, match_forwarded_host: true }, api: { host: '127.0.0.1', port: 0 } } })
t.teardown(() => gw.close())

async function call(url: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await request(url, { headers })
  return { status: res.statusCode, text: await res.body.text() }
}

t.test('a trusted X-Forwarded-Host cannot carry a path: /admin is never matched as /public', async (t) => {
  t.equal((await call(`${gw.proxy}/admin/x`, { host: 'other', 'x-forwarded-host': 'gw.test' })).status, 401, 'the admin rule, via X-Forwarded-Host')
  const before = up.seen.length
  for (const host of ['gw.test/public', 'gw.test/public/..', 'gw.test?', 'gw.test#', 'x@gw.test', 'gw.test\\public']) {
    const r = await call(`${gw.proxy}/admin/x`, { host: 'other', 'x-forwarded-host': host })
    t.equal(r.status, 400, `X-Forwarded-Host: ${host} → 400`)
  }
  t.equal(up.seen.length, before, 'nothing was forwarded')
  t.equal((await call(`${gw.proxy}/public/x`, { host: 'other', 'x-forwarded-host': 'GW.test:80, proxy.internal' })).status, 404, 'host:port is kept (no rule for :80)')
  t.equal((await call(`${gw.proxy}/public/x`, { host: 'other', 'x-forwarded-host': 'GW.test, proxy.internal' })).status, 200, 'first value, case-insensitive')
})

t.test('the decision API refuses an X-Forwarded-Host that carries a path', async (t) => {
  const described = { 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'http', 'x-forwarded-uri': '/admin/x' }
  t.equal((await call(`${gw.api}/decisions`, { ...described, 'x-forwarded-host': 'gw.test' })).status, 401)
  t.equal((await call(`${gw.api}/decisions`, { ...described, 'x-forwarded-host': 'gw.test/public' })).status, 400)
})

t.test('/decisions and /decisions?query describe the empty path, as in Oathkeeper', async (t) => {
  t.equal((await call(`${gw.api}/decisions?a=b`, { host: 'gw.test' })).status, 401, 'the rule for http://gw.test')
  t.equal((await call(`${gw.api}/decisions`, { host: 'gw.test' })).status, 401)
  t.equal((await call(`${gw.api}/decisions/`, { host: 'gw.test' })).status, 200, '/decisions/ is the root path')
  t.equal((await call(`${gw.api}/decisions`, { host: 'gw.test', 'x-forwarded-uri': '/' })).status, 200)
})

t.test('a refused decision request is logged too', async (t) => {
  await call(`${gw.api}/decisions/%zz`, { host: 'gw.test', 'x-request-id': 'bad-decision' })
  t.match(gw.logs.find((l) => l.request_id === 'bad-decision'), { msg: 'decision', status: 400 })
})

t.test('a client that hangs up before the answer is logged as 499, not 200', async (t) => {
  const req = httpRequest(`${gw.proxy}/slow`, { headers: { host: 'gw.test', 'x-request-id': 'gone-early' }, agent: false })
  req.on('error', () => {})
  const before = slowReceived
  req.end()
  // The client leaves once the request is upstream, long before the upstream would answer.
  await until(() => slowReceived > before, 'the request to reach the upstream')
  req.destroy()
  await until(() => gw.logs.some((l) => l.request_id === 'gone-early' && l.msg === 'request'), 'request log line')
  t.match(gw.logs.find((l) => l.request_id === 'gone-early' && l.msg === 'request'), { rule: 'slow', status: 499 })
})

t.test('a rule using a disabled handler is reported as broken and not served', async (t) => {
  const g = await startGateway(
    {
      'ok.yml': `- { id: ok, match: { url: 'http://gw.test/ok', methods: [GET] }, upstream: { url: '${up.url}' }, authenticators: [{ handler: noop }], authorizer: { handler: allow }, mutators: [{ handler: noop }] }\n`,
      'off.yml': `- { id: off, match: { url: 'http://gw.test/off', methods: [GET] }, upstream: { url: '${up.url}' }, authenticators: [{ handler: noop }], authorizer: { handler: deny }, mutators: [{ handler: noop }] }\n`,
    },
    { authorizers: { allow: { enabled: true }, deny: { enabled: false } } },
  )
  t.teardown(() => g.close())
  const status = (await (await request(`${g.api}/rules/status`)).body.json()) as { source: string; error: string | null }[]
  const off = status.find((s) => s.source.endsWith('off.yml'))
  t.match(off?.error, /off\.yml.*rule "off".*authorizer "deny" is disabled/)
  t.equal(status.find((s) => s.source.endsWith('ok.yml'))?.error, null)
  t.equal((await call(`${g.proxy}/off`, { host: 'gw.test' })).status, 404, 'the broken rule is not served')
  t.equal((await call(`${g.proxy}/ok`, { host: 'gw.test' })).status, 200)
})
