import t from 'tap'
import { request } from 'undici'
import { startGateway, startUpstream } from './helpers/servers.js'

// A 401 or 403 in production must lead to its rule from one log line: the request line names
// the rule and the error code, for the proxy and the decision API alike.
const up = await startUpstream()
t.teardown(() => up.close())

const gw = await startGateway({
  'rules.yml': `
- id: closed
  match: { url: 'http://gw.test/closed/<.*>', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: unauthorized }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: guests-only
  match: { url: 'http://gw.test/guests/<.*>', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: anonymous }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: denied
  match: { url: 'http://gw.test/denied', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: noop }]
  authorizer: { handler: deny }
  mutators: [{ handler: noop }]
`,
})
t.teardown(() => gw.close())

async function call(base: string, path: string, id: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await request(`${base}${path}`, { headers: { host: 'gw.test', 'x-request-id': id, ...headers } })
  await res.body.text()
  return res.statusCode
}

const lineOf = (id: string): Record<string, unknown> | undefined => gw.logs.find((l) => l.request_id === id && (l.msg === 'request' || l.msg === 'decision'))

t.test('proxy: a 401 from an authenticator names the rule and the code', async (t) => {
  t.equal(await call(gw.proxy, '/closed/x', 'log-401'), 401)
  t.match(lineOf('log-401'), { msg: 'request', rule: 'closed', status: 401, code: 'GATEHOUSE_ERR_UNAUTHORIZED' })
})

t.test('proxy: a 401 because no authenticator was responsible names the rule', async (t) => {
  t.equal(await call(gw.proxy, '/guests/x', 'log-401-none', { authorization: 'Bearer x' }), 401)
  t.match(lineOf('log-401-none'), { rule: 'guests-only', status: 401, code: 'GATEHOUSE_ERR_NO_AUTHENTICATOR' })
})

t.test('decision API: a 403 names the rule and the code', async (t) => {
  t.equal(await call(gw.api, '/decisions/denied', 'log-403'), 403)
  t.match(lineOf('log-403'), { msg: 'decision', rule: 'denied', status: 403, code: 'GATEHOUSE_ERR_FORBIDDEN' })
})

t.test('no rule: the code says so', async (t) => {
  t.equal(await call(gw.proxy, '/nothing', 'log-404'), 404)
  t.match(lineOf('log-404'), { rule: undefined, status: 404, code: 'GATEHOUSE_ERR_NO_RULE' })
})

t.test('an allowed request carries no code', async (t) => {
  t.equal(await call(gw.proxy, '/guests/x', 'log-200'), 200)
  const line = lineOf('log-200')
  t.match(line, { rule: 'guests-only', status: 200 })
  t.notOk(line !== undefined && 'code' in line, 'no code field')
})
