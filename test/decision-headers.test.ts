import t from 'tap'
import { request } from 'undici'
import { startGateway } from './helpers/servers.js'

// Oathkeeper's noop mutator makes the request's headers the session's, and its decision API
// answers 200 with the session's headers: front proxies (nginx auth_request_set, Traefik
// authResponseHeaders) copy e.g. Authorization from that answer.

const rules = `
- id: noop
  match: { url: 'http://gw.test/noop', methods: [GET] }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: noop-then-header
  match: { url: 'http://gw.test/both', methods: [GET] }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators:
    - handler: noop
    - handler: header
      config: { headers: { X-User: guest } }
- id: header-only
  match: { url: 'http://gw.test/header', methods: [GET] }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: header, config: { headers: { X-User: guest } } }]
`

const gw = await startGateway({ 'rules.yml': rules })
t.teardown(() => gw.close())

async function decide(path: string, headers: Record<string, string> = {}) {
  const r = await request(`${gw.api}/decisions${path}`, {
    headers: { host: 'gw.test', authorization: 'Bearer abc', 'x-custom': 'one', ...headers },
  })
  const body = await r.body.text()
  return { status: r.statusCode, headers: r.headers, body }
}

t.test('noop: the 200 carries the request’s headers', async (t) => {
  const r = await decide('/noop')
  t.equal(r.status, 200)
  t.equal(r.headers.authorization, 'Bearer abc')
  t.equal(r.headers['x-custom'], 'one')
  t.equal(r.headers['content-length'], '0', 'the answer’s own length, not the request’s')
  t.not(r.headers.host, 'gw.test', 'Host is not echoed')
})

t.test('noop then header: the session’s header replaces the request’s, once', async (t) => {
  const r = await decide('/both', { 'x-user': 'mallory' })
  t.equal(r.status, 200, r.body)
  t.equal(r.headers['x-user'], 'guest', 'one value, the mutator’s')
  t.equal(r.headers.authorization, 'Bearer abc')
})

t.test('without noop only the mutators’ headers are answered', async (t) => {
  const r = await decide('/header')
  t.equal(r.headers['x-user'], 'guest')
  t.equal(r.headers.authorization, undefined)
  t.equal(r.headers['x-custom'], undefined)
})
