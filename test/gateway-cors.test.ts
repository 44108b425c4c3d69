import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { buildConfig } from '../src/config/load.js'
import { ConfigError } from '../src/errors.js'
import { createGateway } from '../src/gateway/gateway.js'
import { createLogger } from '../src/observability/logger.js'
import { scrape, valueOf } from './helpers/prometheus.js'
import { ALL_HANDLERS, startGateway } from './helpers/servers.js'

/** An upstream with CORS headers of its own and two cookies; records the methods it got. */
const seen: string[] = []
const upstream = createServer((req, res) => {
  seen.push(`${req.method} ${req.url}`)
  req.resume()
  res.writeHead(200, [
    ['content-type', 'text/plain'],
    ['access-control-allow-origin', '*'],
    ['set-cookie', 'a=1'],
    ['set-cookie', 'b=2'],
  ].flat())
  res.end('ok')
})
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
t.teardown(() => new Promise<void>((r) => (upstream.closeAllConnections(), upstream.close(() => r()))))

const RULES = `
- id: public
  match: { url: 'http://gw.test/public', methods: [GET, POST, OPTIONS] }
  upstream: { url: '${upstreamUrl}' }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: private
  match: { url: 'http://gw.test/private', methods: [GET, POST] }
  upstream: { url: '${upstreamUrl}' }
  authenticators: [{ handler: unauthorized }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`

const serve = (cors: { proxy?: Record<string, unknown>; api?: Record<string, unknown> }) => ({
  serve: {
    proxy: { host: '127.0.0.1', port: 0, ...(cors.proxy === undefined ? {} : { cors: cors.proxy }) },
    api: { host: '127.0.0.1', port: 0, ...(cors.api === undefined ? {} : { cors: cors.api }) },
  },
})

const gw = await startGateway(
  { 'rules.yml': RULES },
  serve({
    proxy: {
      enabled: true,
      allowed_origins: ['https://app.example.com', 'https://*.example.org'],
      allowed_methods: ['GET', 'POST'],
      allowed_headers: ['Authorization', 'Content-Type', 'X-Custom'],
      exposed_headers: ['x-request-id'],
      allow_credentials: true,
      max_age: 600,
      debug: true,
    },
    // Oathkeeper's defaults otherwise: every origin, no credentials.
    api: { enabled: true },
  }),
)
t.teardown(() => gw.close())

type Headers = Record<string, string | string[] | undefined>
async function send(base: string, path: string, method: 'GET' | 'POST' | 'OPTIONS', headers: Record<string, string>): Promise<{ status: number; headers: Headers }> {
  const res = await request(`${base}${path}`, { method, headers: { host: 'gw.test', ...headers } })
  await res.body.dump()
  return { status: res.statusCode, headers: res.headers }
}
const preflight = (base: string, path: string, origin: string, method: string, requestHeaders?: string) =>
  send(base, path, 'OPTIONS', {
    origin,
    'access-control-request-method': method,
    ...(requestHeaders === undefined ? {} : { 'access-control-request-headers': requestHeaders }),
  })

t.test('proxy preflight: answered by the gateway (no rule, no upstream), allowed or not', async (t) => {
  const before = seen.length
  const ok = await preflight(gw.proxy, '/private', 'https://app.example.com', 'POST', 'content-type, x-custom')
  t.equal(ok.status, 204, 'not the rule’s 401: preflights carry no credentials')
  t.match(ok.headers, {
    'access-control-allow-origin': 'https://app.example.com',
    'access-control-allow-methods': 'POST',
    'access-control-allow-headers': 'content-type, x-custom',
    'access-control-allow-credentials': 'true',
    'access-control-max-age': '600',
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  })
  t.equal((await preflight(gw.proxy, '/nowhere', 'https://app.example.com', 'GET')).status, 204, 'even where no rule matches')
  const wildcard = await preflight(gw.proxy, '/public', 'https://a.b.example.org', 'GET')
  t.equal(wildcard.headers['access-control-allow-origin'], 'https://a.b.example.org', 'https://*.example.org')
  t.equal(wildcard.headers['access-control-allow-headers'], undefined, 'none asked for, none listed')

  const refused = {
    'origin not listed': await preflight(gw.proxy, '/public', 'https://evil.test', 'GET'),
    'wildcard needs a subdomain': await preflight(gw.proxy, '/public', 'https://example.org', 'GET'),
    'method not allowed': await preflight(gw.proxy, '/public', 'https://app.example.com', 'PUT'),
    'header not allowed': await preflight(gw.proxy, '/public', 'https://app.example.com', 'GET', 'x-other'),
  }
  for (const [why, r] of Object.entries(refused)) {
    t.equal(r.status, 204, why)
    t.equal(r.headers['access-control-allow-origin'], undefined, `${why}: no Allow-Origin, so the browser refuses`)
    t.match(r.headers.vary, /Origin/)
  }
  t.equal(seen.length, before, 'the upstream saw none of them')
  t.ok(gw.logs.some((l) => l.msg === 'cors: preflight from an origin that is not allowed' && l.origin === 'https://evil.test'), 'debug: why, in the log')
  const preflights = valueOf(await scrape(gw.metrics), 'gatehouse_requests_total', { service: 'proxy', rule_id: '', method: 'OPTIONS', status_code: '204' })
  t.equal(preflights, 7, 'counted as requests without a rule')
})

t.test('proxy actual requests: Access-Control-* on the upstream’s answer and on error answers', async (t) => {
  const ok = await send(gw.proxy, '/public', 'GET', { origin: 'https://app.example.com' })
  t.equal(ok.status, 200)
  t.equal(ok.headers['access-control-allow-origin'], 'https://app.example.com', 'the gateway’s, not the upstream’s "*"')
  t.equal(ok.headers['access-control-expose-headers'], 'X-Request-Id')
  t.equal(ok.headers['access-control-allow-credentials'], 'true')
  t.equal(ok.headers.vary, 'Origin')
  t.same(ok.headers['set-cookie'], ['a=1', 'b=2'], 'repeated upstream headers stay separate')

  const denied = await send(gw.proxy, '/private', 'GET', { origin: 'https://x.example.org' })
  t.equal(denied.status, 401, 'the rule ran')
  t.equal(denied.headers['access-control-allow-origin'], 'https://x.example.org', 'so the page can read the 401')
  t.equal((await send(gw.proxy, '/nowhere', 'GET', { origin: 'https://app.example.com' })).headers['access-control-allow-origin'], 'https://app.example.com', '404 too')

  const stranger = await send(gw.proxy, '/public', 'GET', { origin: 'https://evil.test' })
  t.equal(stranger.status, 200, 'CORS is the browser’s business: the request itself is served')
  t.equal(stranger.headers['access-control-allow-origin'], undefined)
  t.equal(stranger.headers.vary, 'Origin')
  const sameOrigin = await send(gw.proxy, '/public', 'GET', {})
  t.equal(sameOrigin.headers['access-control-allow-origin'], undefined, 'no Origin, no CORS headers')
})

t.test('decision API with CORS on: preflight answered, every answer carries the headers', async (t) => {
  const p = await preflight(gw.api, '/decisions/private', 'https://any.test', 'GET', 'authorization')
  t.equal(p.status, 204)
  t.match(p.headers, { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET', 'access-control-allow-headers': 'authorization' })
  t.equal(p.headers['access-control-allow-credentials'], undefined)
  const d = await send(gw.api, '/decisions/public', 'GET', { origin: 'https://any.test' })
  t.equal(d.status, 200)
  t.match(d.headers, { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'Content-Type' })
  t.equal((await send(gw.api, '/decisions/private', 'GET', { origin: 'https://any.test' })).headers['access-control-allow-origin'], '*')
  t.equal((await send(gw.api, '/health/alive', 'GET', { origin: 'https://any.test' })).headers['access-control-allow-origin'], '*')
})

t.test('CORS off (the default): OPTIONS goes through the rules to the upstream, nothing is added', async (t) => {
  const plain = await startGateway({ 'rules.yml': RULES }, serve({}))
  t.teardown(() => plain.close())
  const before = seen.length
  const p = await preflight(plain.proxy, '/public', 'https://app.example.com', 'GET')
  t.equal(p.status, 200, 'the rule allows OPTIONS: the upstream answers')
  t.same(seen.slice(before), ['OPTIONS /public'])
  t.equal(p.headers['access-control-allow-origin'], '*', 'the upstream’s own header, untouched')
  t.equal((await preflight(plain.proxy, '/private', 'https://app.example.com', 'GET')).status, 404, 'no rule for OPTIONS there')
  t.equal((await send(plain.api, '/health/alive', 'GET', { origin: 'https://any.test' })).headers['access-control-allow-origin'], undefined)
})

t.test('config: Oathkeeper keys and defaults, env overrides, bad origins named', async (t) => {
  const c = buildConfig({}, { SERVE_PROXY_CORS_ENABLED: 'true', SERVE_PROXY_CORS_ALLOWED_ORIGINS: 'https://a.test, https://*.b.test', SERVE_API_CORS_MAX_AGE: '60' })
  t.equal(c.serve.proxy.cors.enabled, true)
  t.same(c.serve.proxy.cors.allowed_origins, ['https://a.test', 'https://*.b.test'])
  t.equal(c.serve.api.cors.max_age, 60)
  t.equal(c.serve.api.cors.enabled, false)
  const problems = (raw: unknown): readonly string[] => {
    try {
      buildConfig(raw, {})
      return []
    } catch (err) {
      return (err as ConfigError).problems
    }
  }
  t.same(problems({ serve: { proxy: { cors: { allowed_methods: ['OPTIONS'], max_age: -1 } } } }), [
    'serve.proxy.cors.allowed_methods.0: must be one of GET, HEAD, POST, PUT, DELETE, CONNECT, TRACE, PATCH (got "OPTIONS")',
    'serve.proxy.cors.max_age: must be >= 0 (got -1)',
  ])
  const bad = buildConfig({ ...ALL_HANDLERS, serve: { api: { cors: { enabled: true, allowed_origins: ['https://ok.test', 'https://*.*.test'] } } } }, {})
  const err = t.throws(() => createGateway(bad, createLogger({ level: 'silent', format: 'json' }))) as ConfigError
  t.same(err.problems, ['serve.api.cors.allowed_origins[1]: only one "*" is allowed per origin (got "https://*.*.test")'])
})
