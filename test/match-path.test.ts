import t from 'tap'
import { request } from 'undici'
import { GatehouseError } from '../src/errors.js'
import { matchPath } from '../src/gateway/match-path.js'
import { normalizePath } from '../src/gateway/normalize.js'
import { rawExchange } from './helpers/raw-http.js'
import { startGateway, startUpstream } from './helpers/servers.js'

t.test('matchPath: escapes decoded as Oathkeeper matches them, controls and non-UTF-8 kept', async (t) => {
  const cases: Array<[string, string]> = [
    ['/plain/path', '/plain/path'],
    ['/urn:foo:w%3Fr', '/urn:foo:w?r'],
    ['/a%23b%20c%3B', '/a#b c;'],
    ['/100%25', '/100%'],
    ['/caf%C3%A9', '/café'],
    ['/%E2%82%AC/%F0%9F%98%80', '/€/😀'],
    ['/caf%E9', '/caf%E9'],
    ['/x%0D%0A%7F%00', '/x%0D%0A%7F%00'],
    ['/%C2%85', '/%C2%85'],
    ['/%ED%A0%80', '/%ED%A0%80'],
    ['/%E2%82', '/%E2%82'],
    ['/caf\u00c3\u00a9', '/café'],
  ]
  for (const [path, want] of cases) t.equal(matchPath(path), want, path)
  const same = '/no/escapes'
  t.equal(matchPath(same), same)
})

t.test('normalizePath: double-encoded dot, slash and backslash refused unless allowed', async (t) => {
  for (const p of ['/a/%252e%252e/b', '/a/..%252Fb', '/a/%255C', '/a/%25252f', '/a/%25%32%65']) {
    const err = t.throws(() => normalizePath(p)) as GatehouseError
    t.equal(err.status, 400, p)
    t.match(err.reason, /double-encoded/, p)
    t.equal(normalizePath(p, { allowDoubleEncoded: true }).startsWith('/a/'), true, `${p} allowed`)
  }
  t.equal(normalizePath('/a/%2541/%25'), '/a/%2541/%25', 'an escaped % before anything else is fine')
})

const up = await startUpstream()
t.teardown(() => up.close())

const rule = (id: string, url: string) => `
- id: ${id}
  match: { url: '${url}', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: header, config: { headers: { X-Rule: ${id} } } }]
`

t.test('rules match the decoded path; the escaped path is forwarded', async (t) => {
  const rules = rule('reserved', 'http://gw.test/urn:foo:w?r') + rule('utf8', 'http://gw.test/städte/<.*>') + rule('glob-free', 'http://gw.test/files/100%')
  const gw = await startGateway({ 'rules.yml': rules })
  t.teardown(() => gw.close())
  for (const [path, id] of [['/urn:foo:w%3Fr', 'reserved'], ['/st%C3%A4dte/x', 'utf8'], ['/files/100%25', 'glob-free']] as const) {
    const before = up.seen.length
    const ex = await rawExchange(Number(new URL(gw.proxy).port), `GET ${path} HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`)
    t.equal(ex.status, 200, path)
    t.same(up.seen.slice(before).map((s) => [s.url, s.headers['x-rule']]), [[path, id]], `${path}: rule ${id}, forwarded escaped`)
  }
  const d = await request(`${gw.api}/decisions/urn:foo:w%3Fr`, { headers: { host: 'gw.test' } })
  await d.body.dump()
  t.equal(d.statusCode, 200, 'the decision API matches the same way')
})

t.test('serve.allow_double_encoded_paths: forwarded as sent', async (t) => {
  const gw = await startGateway({ 'rules.yml': rule('any', 'http://gw.test/<.*>') }, { serve: { proxy: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0 }, allow_double_encoded_paths: true } })
  t.teardown(() => gw.close())
  const before = up.seen.length
  const ex = await rawExchange(Number(new URL(gw.proxy).port), 'GET /a/..%252fb HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n')
  t.equal(ex.status, 200)
  t.same(up.seen.slice(before).map((s) => s.url), ['/a/..%252fb'])
  const strict = await startGateway({ 'rules.yml': rule('any', 'http://gw.test/<.*>') })
  t.teardown(() => strict.close())
  const refused = await rawExchange(Number(new URL(strict.proxy).port), 'GET /a/..%252fb HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n')
  t.equal(refused.status, 400, 'refused by default')
})
