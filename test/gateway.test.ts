import t from 'tap'
import { request } from 'undici'
import { startGateway, startUpstream } from './helpers/servers.js'

const up = await startUpstream()
t.teardown(() => up.close())

const rules = (upstream: string): string => `
- id: public
  match: { url: 'http://gw.test/public/<.*>', methods: [get, HEAD] }
  upstream: { url: '${upstream}' }
  authenticators: [{ handler: anonymous, config: { subject: guest } }]
  authorizer: { handler: allow }
  mutators:
    - handler: header
      config:
        headers:
          X-User: '{{ print .Subject }}'
          X-Path: '{{ index .MatchContext.RegexpCaptureGroups 0 }}'
- id: admin
  match: { url: 'http://gw.test/admin<.*>', methods: [GET] }
  upstream: { url: '${upstream}' }
  authenticators: [{ handler: unauthorized }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: forbidden
  match: { url: 'http://gw.test/forbidden', methods: [GET] }
  upstream: { url: '${upstream}' }
  authenticators: [{ handler: noop }]
  authorizer: { handler: deny }
  mutators: [{ handler: noop }]
- id: overlap-a
  match: { url: 'http://gw.test/overlap/<a.*>', methods: [GET] }
  upstream: { url: '${upstream}' }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: overlap-b
  match: { url: 'http://gw.test/overlap/<.*b>', methods: [GET] }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: strip
  match: { url: 'http://gw.test/api/v1/<.*>', methods: [POST] }
  upstream: { url: '${upstream}/base', strip_path: /api/v1, preserve_host: true }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: strip-bare
  match: { url: 'http://gw.test/api/v2/<.*>', methods: [GET] }
  upstream: { url: '${upstream}', strip_path: api/v2/ }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: strip-slashes
  match: { url: 'http://gw.test/api/v3/<.*>', methods: [GET] }
  upstream: { url: '${upstream}', strip_path: api }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`

const gw = await startGateway({ 'rules.yml': rules(up.url) })
t.teardown(() => gw.close())

async function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await request(`${gw.proxy}${path}`, { method: method as 'GET', headers: { host: 'gw.test', ...headers } })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, text }
}

t.test('allowed request is forwarded with mutated headers', async (t) => {
  const before = up.seen.length
  const r = await get('/public/hello?x=1')
  t.equal(r.status, 200)
  const seen = up.seen[before]!
  t.equal(seen.url, '/public/hello?x=1')
  t.equal(seen.headers['x-user'], 'guest')
  t.equal(seen.headers['x-path'], 'hello')
})

t.test('methods are matched case-insensitively', async (t) => {
  t.equal((await get('/public/a', {}, 'HEAD')).status, 200)
  t.equal((await get('/public/a', {}, 'POST')).status, 404)
})

t.test('no rule → 404 with the JSON error body', async (t) => {
  const r = await get('/nothing')
  t.equal(r.status, 404)
  t.equal(r.headers['content-type'], 'application/json')
  t.same(JSON.parse(r.text), { error: { code: 404, status: 'Not Found', message: 'Requested url does not match any rules' } })
})

t.test('two matching rules → 500', async (t) => {
  const r = await get('/overlap/ab')
  t.equal(r.status, 500)
  t.equal((await get('/overlap/ax')).status, 200, 'only overlap-a matches')
  t.equal((await get('/overlap/xb')).status, 500, 'a rule without upstream cannot proxy')
})

t.test('unauthorized → 401, deny → 403', async (t) => {
  t.equal((await get('/admin/x')).status, 401)
  t.equal((await get('/forbidden')).status, 403)
})

t.test('anonymous is not responsible when Authorization is present → 401', async (t) => {
  t.equal((await get('/public/x', { authorization: 'Bearer abc' })).status, 401)
})

t.test('normalisation attacks are matched as what is forwarded', async (t) => {
  for (const p of ['/public/../admin/x', '/public/%2e%2e/admin/x', '/%2E%2E/admin/x', '//admin/x', '/public/./../admin/x']) {
    t.equal((await get(p)).status, 401, `${p} is the admin rule`)
  }
  t.equal((await get('/public/..%2fadmin')).status, 400, 'encoded slash refused')
  const before = up.seen.length
  t.equal((await get('/public/a/../b')).status, 200)
  t.equal(up.seen[before]!.url, '/public/b', 'the normalised path is forwarded')
})

t.test('strip_path, base path and preserve_host', async (t) => {
  const before = up.seen.length
  const r = await get('/api/v1/items?q=1', { 'content-type': 'text/plain' }, 'POST')
  t.equal(r.status, 200)
  const seen = up.seen[before]!
  t.equal(seen.url, '/base/items?q=1')
  t.equal(seen.headers.host, 'gw.test')
})

t.test('strip_path without a leading slash is trimmed and stripped, as in Oathkeeper', async (t) => {
  const before = up.seen.length
  t.equal((await get('/api/v2/items?q=1')).status, 200, 'api/v2/')
  t.equal((await get('/api/v3/items')).status, 200, 'api')
  t.same(up.seen.slice(before).map((s) => s.url), ['/items?q=1', '/v3/items'])
})

t.test('request id: honoured and passed upstream, generated otherwise', async (t) => {
  let before = up.seen.length
  await get('/public/id', { 'x-request-id': 'abc-123' })
  t.equal(up.seen[before]!.headers['x-request-id'], 'abc-123')
  before = up.seen.length
  await get('/public/id')
  t.match(up.seen[before]!.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  const line = gw.logs.find((l) => l.request_id === 'abc-123' && l.msg === 'request')
  t.ok(line, 'one request log line')
  t.match(line, { method: 'GET', path: '/public/id', rule: 'public', status: 200 })
  t.type(line?.duration_ms, 'number')
})

t.test('decision API uses X-Forwarded-* and returns mutated headers', async (t) => {
  const res = await request(`${gw.api}/decisions`, {
    headers: { 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'gw.test', 'x-forwarded-uri': '/public/dec?x=1' },
  })
  await res.body.text()
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-user'], 'guest')
  t.equal(res.headers['x-path'], 'dec')
  const denied = await request(`${gw.api}/decisions/forbidden`, { headers: { host: 'gw.test' } })
  t.equal(denied.statusCode, 403)
  await denied.body.text()
  const nf = await request(`${gw.api}/decisions/nothing`, { headers: { host: 'gw.test' } })
  t.equal(nf.statusCode, 404)
  await nf.body.text()
})

t.test('management API: rules, rule by id, status, health, version', async (t) => {
  const list = await request(`${gw.api}/rules?limit=2&offset=1`)
  const rulesJson = (await list.body.json()) as { id: string }[]
  t.same(rulesJson.map((r) => r.id), ['admin', 'forbidden'])
  const one = await request(`${gw.api}/rules/public`)
  t.match(await one.body.json(), { id: 'public', match: { url: 'http://gw.test/public/<.*>' } })
  const missing = await request(`${gw.api}/rules/nope`)
  t.equal(missing.statusCode, 404)
  await missing.body.text()
  const status = (await (await request(`${gw.api}/rules/status`)).body.json()) as { error: string | null; rules: number }[]
  t.equal(status.length, 1)
  t.equal(status[0]!.error, null)
  t.equal(status[0]!.rules, 8)
  t.equal((await request(`${gw.api}/health/ready`)).statusCode, 200)
  t.equal((await request(`${gw.api}/health/alive`)).statusCode, 200)
  t.match(await (await request(`${gw.api}/version`)).body.json(), { version: /^\d+\.\d+\.\d+/ })
})
