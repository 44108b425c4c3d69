import t from 'tap'
import { request } from 'undici'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from './helpers/cli.js'
import { startFakeIntrospection } from './helpers/introspection-endpoint.js'
import { ALL_HANDLERS, startGateway, type TestGateway } from './helpers/servers.js'
import type { Explanation } from '../src/gateway/explain.js'

// Ad-hoc rules across two files: an authenticator chain, a method subset, an overlap, a cookie
// mutator, rule-level error handlers.
const RULES = {
  'api.yml': `
- id: api
  match: { url: 'http://gw.test/api/<.*>', methods: [GET, POST] }
  upstream: { url: 'http://127.0.0.1:1' }
  authenticators:
    - { handler: jwt, config: { token_from: { header: X-Token } } }
    - { handler: anonymous }
    - { handler: unauthorized }
  authorizer: { handler: allow }
  mutators:
    - handler: header
      config: { headers: { X-User: '{{ print .Subject }}', X-Secret: 'AbCdEfGh1234567890XyZwVu', X-Host-Seen: 'host {{ .MatchContext.Header.Get "X-Forwarded-Host" }}' } }
    - handler: cookie
      config: { cookies: { session: '{{ print .Subject }}' } }
- id: forbidden
  match: { url: 'http://gw.test/forbidden', methods: [GET] }
  authenticators: [{ handler: noop }]
  authorizer: { handler: deny }
  mutators: [{ handler: noop }]
  errors: [{ handler: json, config: { when: [{ error: [forbidden] }] } }]
`,
  'overlap.yml': `
- id: overlap-a
  match: { url: 'http://gw.test/overlap/<(a|b)x>', methods: [GET] }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: overlap-b
  match: { url: 'http://gw.test/overlap/<.*x>', methods: [GET, PUT] }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`,
}

const EXTRA = {
  authenticators: { ...ALL_HANDLERS.authenticators, jwt: { enabled: true, config: { jwks_urls: ['http://127.0.0.1:1/jwks.json'] } } },
  mutators: { ...ALL_HANDLERS.mutators, cookie: { enabled: true, config: { cookies: {} } } },
}

const TOKEN = 'ory_at_Zm9vYmFyQmF6cXV4MTIzNDU2.SGVsbG9Xb3JsZEFiYzEyMzQ1Ng'

const gw: TestGateway = await startGateway(RULES, EXTRA)
t.teardown(() => gw.close())

t.test('an authenticator chain: not responsible and why, then authenticated as whom; mutators, headers and cookies', async (t) => {
  const e = await gw.gateway.explain({ method: 'get', url: 'http://gw.test/api/users', headers: {} })
  t.equal(e.rules.matched, 'api')
  t.same(e.rules.candidates.map((c) => c.id), ['api'])
  t.match(e.authenticators, [
    { handler: 'jwt', outcome: 'not_responsible', reason: /header X-Token/ },
    { handler: 'anonymous', outcome: 'authenticated', subject: 'anonymous' },
    { handler: 'unauthorized', outcome: 'not_run' },
  ])
  t.match(e.authorizer, { handler: 'allow', outcome: 'allowed' })
  t.match(e.mutators, [{ handler: 'header', outcome: 'mutated' }, { handler: 'cookie', outcome: 'mutated' }])
  t.equal(e.headers['X-User'], 'anonymous')
  t.match(e.headers['X-Secret'], /^\[sha256:[0-9a-f]{8}\]$/, 'a token-like header value is fingerprinted')
  t.match(e.cookies, { session: /^\[sha256:[0-9a-f]{8}\]$/ })
  t.same(e.result, { allowed: true, status: 200 })
  t.equal(e.error_handler, null)
})

t.test('a credential for another authenticator: anonymous declines, unauthorized fails; the token is never printed', async (t) => {
  const e = await gw.gateway.explain({ method: 'POST', url: 'http://gw.test/api/x', headers: { Authorization: `Bearer ${TOKEN}` } })
  t.match(e.authenticators, [
    { handler: 'jwt', outcome: 'not_responsible' },
    { handler: 'anonymous', outcome: 'not_responsible', reason: /Authorization header/ },
    { handler: 'unauthorized', outcome: 'failed', code: 'GATEHOUSE_ERR_UNAUTHORIZED', status: 401 },
  ])
  t.match(e.authorizer, { outcome: 'not_run' })
  t.match(e.result, { allowed: false, status: 401, code: 'GATEHOUSE_ERR_UNAUTHORIZED' })
  t.same(e.error_handler, { handler: 'json', from: 'fallback', index: 0 })
  t.match(e.request.headers.authorization, /^Bearer \[sha256:[0-9a-f]{8}\]$/)
  const text = JSON.stringify(e)
  for (const part of [TOKEN, ...TOKEN.split('.')]) t.notOk(text.includes(part), 'no part of the token appears')
})

t.test('untrusted X-Forwarded-* are dropped before the pipeline, as the proxy does', async (t) => {
  const e = await gw.gateway.explain({ method: 'GET', url: 'http://gw.test/api/x', headers: { 'X-Forwarded-Host': 'evil.test' } })
  t.equal(e.headers['X-Host-Seen'], 'host ')
  t.notOk('x-forwarded-host' in e.request.headers)
})

t.test("the authorizer's denial and the rule's own error handler", async (t) => {
  const e = await gw.gateway.explain({ method: 'GET', url: 'http://gw.test/forbidden', headers: {} })
  t.match(e.authenticators, [{ handler: 'noop', outcome: 'authenticated' }])
  t.match(e.authorizer, { handler: 'deny', outcome: 'failed', code: 'GATEHOUSE_ERR_FORBIDDEN', status: 403 })
  t.match(e.mutators, [{ outcome: 'not_run' }])
  t.same(e.error_handler, { handler: 'json', from: 'rule', index: 0 })
})

t.test('several rules (an alternation in one file against a wildcard in another) → 500, both named', async (t) => {
  const e = await gw.gateway.explain({ method: 'GET', url: 'http://gw.test/overlap/ax', headers: {} })
  t.equal(e.rules.matched, null)
  t.same(e.rules.candidates.map((c) => c.id).sort(), ['overlap-a', 'overlap-b'])
  t.match(e.rules.why, /several rules.*"overlap-a" \(.*overlap\.yml\).*"overlap-b"/)
  t.match(e.result, { status: 500, code: 'GATEHOUSE_ERR_MULTIPLE_RULES' })
  t.same(e.authenticators, [])
})

t.test('a method subset: the URL matches two rules, the method only one', async (t) => {
  const e = await gw.gateway.explain({ method: 'PUT', url: 'http://gw.test/overlap/ax', headers: {} })
  t.equal(e.rules.matched, 'overlap-b')
  t.match(e.rules.candidates.find((c) => c.id === 'overlap-a'), { method_matches: false })
})

t.test('no rule: by URL, and by method', async (t) => {
  const none = await gw.gateway.explain({ method: 'GET', url: 'http://other.test/api/x', headers: {} })
  t.match(none, { rules: { matched: null, candidates: [], why: /no rule's match.url matches/ }, result: { status: 404 } })
  const method = await gw.gateway.explain({ method: 'DELETE', url: 'http://gw.test/api/x', headers: {} })
  t.match(method.rules.why, /"api" matches the URL but allows only GET, POST/)
  t.equal(method.result.status, 404)
  const path = await gw.gateway.explain({ method: 'GET', url: 'http://gw.test/reset/AbCdEfGhIjKlMnOpQr123456?code=ZyXwVuTsRqPoNmLk987654', headers: {} })
  const text = JSON.stringify(path)
  t.notOk(text.includes('AbCdEfGhIjKlMnOpQr123456') || text.includes('ZyXwVuTsRqPoNmLk987654'), 'token-like path segments and query values are fingerprinted')
  t.match(path.request.url, /^http:\/\/gw\.test\/reset\/\[sha256:[0-9a-f]{8}\]\?code=\[sha256:[0-9a-f]{8}\]$/)
})

t.test('POST /rules/explain is off by default', async (t) => {
  const res = await request(`${gw.api}/rules/explain`, { method: 'POST', body: JSON.stringify({ url: 'http://gw.test/forbidden' }) })
  t.equal(res.statusCode, 404)
  t.match(await res.body.json(), { error: { message: /serve.api.explain.enabled/ } })
})

t.test('POST /rules/explain when enabled; rules explain --endpoint prints it', async (t) => {
  const on = await startGateway(RULES, { ...EXTRA, serve: { proxy: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0, explain: { enabled: true } } } })
  t.teardown(() => on.close())
  const res = await request(`${on.api}/rules/explain`, {
    method: 'POST',
    body: JSON.stringify({ method: 'POST', url: 'http://gw.test/api/x', headers: { authorization: `Bearer ${TOKEN}` } }),
  })
  t.equal(res.statusCode, 200)
  const e = (await res.body.json()) as Explanation
  t.match(e, { rules: { matched: 'api' }, result: { status: 401 } })
  const bad = await request(`${on.api}/rules/explain`, { method: 'POST', body: '{"url": 1}' })
  t.equal(bad.statusCode, 400)
  await bad.body.text()
  const get = await request(`${on.api}/rules/explain`)
  t.equal(get.statusCode, 405)
  await get.body.text()
  t.match(on.logs.find((l) => l.msg === 'rules explained'), { rule: 'api', status: 401 })

  const cli = await run(['rules', 'explain', '--endpoint', on.api, '-X', 'POST', 'http://gw.test/api/x', '-H', `Authorization: Bearer ${TOKEN}`])
  t.equal(cli.code, 0, cli.stderr)
  t.match(cli.stdout, /\* api\s/)
  t.match(cli.stdout, /anonymous\s+not responsible: the request carries an Authorization header/)
  t.match(cli.stdout, /unauthorized\s+failed: GATEHOUSE_ERR_UNAUTHORIZED \(401\)/)
  t.match(cli.stdout, /error\s+json \(errors.fallback\[0\]\)/)
  t.notOk(cli.stdout.includes(TOKEN.split('.')[0]!.slice(7)), 'the token is not printed')
  const off = await run(['rules', 'explain', '--endpoint', gw.api, 'http://gw.test/api/x'])
  t.equal(off.code, 1)
  t.match(off.stderr, /404.*serve.api.explain.enabled/)
})

t.test('rules explain -c runs the example rules in-process', async (t) => {
  const admin = await run(['rules', 'explain', '-c', 'config/quickstart.yml', 'http://127.0.0.1:4455/admin/x', '-H', `Authorization: Bearer ${TOKEN}`])
  t.equal(admin.code, 0, admin.stderr)
  t.match(admin.stdout, /\* admin\s+rules\/admin\.yml/)
  t.match(admin.stdout, /unauthorized\s+failed: GATEHOUSE_ERR_UNAUTHORIZED \(401\)/)
  t.match(admin.stdout, /authorization: Bearer \[sha256:[0-9a-f]{8}\]/)
  t.notOk(admin.stdout.includes('Zm9vYmFy'), 'the token is not printed')

  const users = await run(['rules', 'explain', '-c', 'config/quickstart.yml', '--format', 'json', 'http://127.0.0.1:4455/users/42/profile'])
  t.equal(users.code, 0, users.stderr)
  const e = JSON.parse(users.stdout) as Explanation
  t.match(e, { rules: { matched: 'user-profile' }, authenticators: [{ handler: 'anonymous', outcome: 'authenticated', subject: 'guest' }], result: { allowed: true } })
  t.equal(e.headers['X-User-Id'], '42')

  const post = await run(['rules', 'explain', '-c', 'config/quickstart.yml', '-X', 'POST', 'http://127.0.0.1:4455/users/42/profile'])
  t.match(post.stdout, /"user-profile" matches the URL but allows only GET/)
  t.match(post.stdout, /result\s+404 GATEHOUSE_ERR_NO_RULE/)

  const neither = await run(['rules', 'explain', 'http://127.0.0.1:4455/x'])
  t.equal(neither.code, 2)
  const notUrl = await run(['rules', 'explain', '-c', 'config/quickstart.yml', '/users/42/profile'])
  t.equal(notUrl.code, 2)
  t.match(notUrl.stderr, /"\/users\/42\/profile" is not an absolute URL/)
})

t.test('rules explain -c on the example api rule: introspection really happens; inactive → 401, active → whom and the headers', async (t) => {
  const GOOD = 'ory_at_R29vZFRva2VuMTIzNDU2Nzg5.U2lnbmF0dXJlQUJDMTIzNDU2'
  const BAD = 'ory_at_QmFkVG9rZW4xMjM0NTY3ODk.U2lnbmF0dXJlWFlaOTg3NjU0'
  const fake = await startFakeIntrospection({ [GOOD]: { active: true, sub: 'svc-reporting' } })
  t.teardown(() => fake.close())
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-explain-'))
  const override = join(dir, 'introspection.yml')
  // scope is sent to the endpoint (wildcard strategy), which the fake ignores; no revocation feed.
  writeFileSync(override, `authenticators:\n  oauth2_introspection:\n    config:\n      introspection_url: ${fake.url}\n      cache: { revocation_events_url: '' }\n`)
  // With scope_strategy none the endpoint alone judges the scope (the fake grants it).
  const noScope = join(dir, 'scope.yml')
  writeFileSync(noScope, 'authenticators:\n  oauth2_introspection:\n    config:\n      scope_strategy: none\n')
  const args = (token: string, ...more: string[]): string[] => ['rules', 'explain', '-c', 'config/quickstart.yml', '-c', override, ...more, '--format', 'json', 'http://127.0.0.1:4455/api/items', '-H', `Authorization: Bearer ${token}`]

  const bad = await run(args(BAD))
  t.equal(bad.code, 0, bad.stderr)
  const b = JSON.parse(bad.stdout) as Explanation
  t.match(b, {
    rules: { matched: 'api' },
    authenticators: [{ handler: 'oauth2_introspection', outcome: 'failed', code: 'GATEHOUSE_ERR_UNAUTHORIZED', reason: 'Access token is not active' }],
    result: { status: 401 },
    error_handler: { handler: 'json', from: 'fallback' },
  })
  t.ok(fake.calls.some((c) => c.token === BAD), 'the endpoint was really asked')

  const noApiRead = await run(args(GOOD))
  t.equal(noApiRead.code, 0, noApiRead.stderr)
  t.match(JSON.parse(noApiRead.stdout), {
    authenticators: [{ handler: 'oauth2_introspection', outcome: 'failed', code: 'GATEHOUSE_ERR_FORBIDDEN', reason: 'Scope api.read was not granted' }],
    authorizer: { outcome: 'not_run' },
    result: { status: 403 },
  })

  const good = await run(args(GOOD, '-c', noScope))
  t.equal(good.code, 0, good.stderr)
  const g = JSON.parse(good.stdout) as Explanation
  t.match(g, {
    authenticators: [{ handler: 'oauth2_introspection', outcome: 'authenticated', subject: 'svc-reporting' }],
    authorizer: { handler: 'allow', outcome: 'allowed' },
    mutators: [{ handler: 'header', outcome: 'mutated' }, { handler: 'id_token', outcome: 'mutated' }],
    result: { allowed: true },
  })
  t.equal(g.headers['X-User'], 'svc-reporting')
  t.match(g.headers.Authorization, /^Bearer \[sha256:[0-9a-f]{8}\]$/, 'the id_token is fingerprinted')
  for (const out of [bad.stdout, noApiRead.stdout, good.stdout]) {
    for (const secret of [GOOD, BAD, ...GOOD.split('.'), ...BAD.split('.')]) t.notOk(out.includes(secret.replace('ory_at_', '')), 'no token part printed')
  }
})
