import t from 'tap'
import type { LRUCache } from 'lru-cache'
import { GatehouseError } from '../src/errors.js'
import { authenticators } from '../src/pipeline/authn/index.js'
import { basicCredentials } from '../src/pipeline/authn/oauth2_client_credentials.js'
import { newSession, type PipelineRequest } from '../src/pipeline/session.js'
import type { Authenticate } from '../src/pipeline/types.js'
import { build, closedPort, pipelineRequest, reply, startRecorder, testDeps } from './helpers/remote-handlers.js'
import { basic, call, startTokenServer } from './helpers/token-server.js'
import { until } from './helpers/wait.js'

const deps = testDeps(t)
const authn = (config: Record<string, unknown>): Authenticate => build(deps, authenticators(), 'oauth2_client_credentials', config)

const ts = await startTokenServer()
t.teardown(() => ts.close())
const tokenUrl = `${ts.publicUrl}/oauth2/token`

async function client(id: string, secret: string, scope = 'api api.read'): Promise<void> {
  const r = await call('POST', `${ts.adminUrl}/admin/clients`, { json: { client_id: id, client_secret: secret, scope, grant_types: ['client_credentials'] } })
  if (r.status !== 201) throw new Error(`client not created: ${JSON.stringify(r.body)}`)
}
const removeClient = async (id: string): Promise<void> => {
  const r = await call('DELETE', `${ts.adminUrl}/admin/clients/${encodeURIComponent(id)}`)
  if (r.status !== 204) throw new Error(`client not deleted: ${r.status}`)
}

const withBasic = (id: string, secret: string): PipelineRequest => pipelineRequest(basic(id, secret))

/** Subject on success, or [code, status] of the rejection; false when not responsible. */
async function outcome(a: Authenticate, r: PipelineRequest): Promise<string | false | [string, number]> {
  const session = newSession(r, [])
  try {
    return (await a(r, session)) ? session.Subject : false
  } catch (err) {
    if (err instanceof GatehouseError) return [err.code, err.status]
    throw err
  }
}

await client('svc', 'secret-1')
await client('svc:1', 'p@ss:w rd+%é')

t.test('Basic header parsing follows Go: scheme case-insensitive, strict base64, first colon splits', async (t) => {
  const b64 = (s: string) => Buffer.from(s).toString('base64')
  t.same(basicCredentials(`Basic ${b64('a:b:c')}`), ['a', 'b:c'])
  t.same(basicCredentials(`bAsIc ${b64('a:')}`), ['a', ''])
  t.equal(basicCredentials(`Basic ${b64('nocolon')}`), undefined)
  t.equal(basicCredentials('Basic !!!'), undefined)
  t.equal(basicCredentials('Bearer abc'), undefined)
  t.equal(basicCredentials(undefined), undefined)
})

t.test('against the real token server: subject = client_id, bad credentials → 401', async (t) => {
  const a = authn({ token_url: tokenUrl, required_scope: ['api.read'] })
  const cases: Array<[name: string, r: PipelineRequest, want: string | false | [string, number]]> = [
    ['valid credentials', withBasic('svc', 'secret-1'), 'svc'],
    ['form-encoded id and secret with reserved characters', withBasic('svc:1', 'p@ss:w rd+%é'), 'svc:1'],
    ['wrong secret', withBasic('svc', 'nope'), ['GATEHOUSE_ERR_UNAUTHORIZED', 401]],
    ['unknown client', withBasic('ghost', 'secret-1'), ['GATEHOUSE_ERR_UNAUTHORIZED', 401]],
    ['bad %-escape in the secret', pipelineRequest({ authorization: `Basic ${Buffer.from('svc:%zz').toString('base64')}` }), ['GATEHOUSE_ERR_UNAUTHORIZED', 401]],
    ['no Authorization', pipelineRequest(), false],
    ['a bearer token', pipelineRequest({ authorization: 'Bearer ory_at_x' }), false],
    ['Basic without a colon', pipelineRequest({ authorization: `Basic ${Buffer.from('svc').toString('base64')}` }), false],
  ]
  for (const [name, r, want] of cases) t.same(await outcome(a, r), want, name)
  const scoped = authn({ token_url: tokenUrl, required_scope: ['admin'] })
  t.same(await outcome(scoped, withBasic('svc', 'secret-1')), ['GATEHOUSE_ERR_UNAUTHORIZED', 401], 'a scope the client lacks → 401')
})

t.test('cache: remembered until ttl, per credentials, keyed by a hash and never the secret', async (t) => {
  await client('cached', 'secret-c')
  await client('plain', 'secret-p')
  // Long enough that a busy machine removes the clients and asks again well within it.
  const ttlMs = 3000
  const cached = authn({ token_url: tokenUrl, cache: { enabled: true, ttl: `${ttlMs}ms` } })
  const uncached = authn({ token_url: tokenUrl })
  t.equal(await outcome(cached, withBasic('cached', 'secret-c')), 'cached')
  const cachedBy = Date.now()
  t.equal(await outcome(uncached, withBasic('plain', 'secret-p')), 'plain')
  await removeClient('cached')
  await removeClient('plain')
  t.equal(await outcome(cached, withBasic('cached', 'secret-c')), 'cached', 'served from the cache after the client is gone')
  t.same(await outcome(cached, withBasic('cached', 'other-secret')), ['GATEHOUSE_ERR_UNAUTHORIZED', 401], 'another secret is another key')
  t.same(await outcome(uncached, withBasic('plain', 'secret-p')), ['GATEHOUSE_ERR_UNAUTHORIZED', 401], 'cache disabled (the default): asked every time')

  const state = deps.shared.get<{ cache: LRUCache<string, true> }>('authn/oauth2_client_credentials/1000', () => {
    throw new Error('state missing')
  })
  const keys = [...state.cache.keys()]
  t.ok(keys.length >= 1)
  for (const k of keys) {
    t.match(k, /^[A-Za-z0-9_-]{43}$/, 'a SHA-256, base64url')
    t.notMatch(k, /secret|cached/)
  }
  await until(() => Date.now() > cachedBy + ttlMs, 'the ttl to pass')
  t.same(await outcome(cached, withBasic('cached', 'secret-c')), ['GATEHOUSE_ERR_UNAUTHORIZED', 401], 'expired after cache.ttl')
})

t.test('cache: max_tokens bounds the entries (least recently used go)', async (t) => {
  await client('lru-a', 'secret-a')
  await client('lru-b', 'secret-b')
  const a = authn({ token_url: tokenUrl, cache: { enabled: true, max_tokens: 1 } })
  t.equal(await outcome(a, withBasic('lru-a', 'secret-a')), 'lru-a')
  t.equal(await outcome(a, withBasic('lru-b', 'secret-b')), 'lru-b')
  await removeClient('lru-a')
  await removeClient('lru-b')
  t.equal(await outcome(a, withBasic('lru-b', 'secret-b')), 'lru-b', 'the last one is cached')
  t.same(await outcome(a, withBasic('lru-a', 'secret-a')), ['GATEHOUSE_ERR_UNAUTHORIZED', 401], 'the first was evicted')
})

t.test('the token request: form body, form-encoded Basic credentials; expiry bounds the cache', async (t) => {
  // A lifetime long enough that a busy machine asks again well within it.
  const expiresIn = 3
  const endpoint = await startRecorder(t, reply(200, { access_token: 'at', token_type: 'bearer', expires_in: expiresIn }))
  const a = authn({ token_url: `${endpoint.url}/oauth2/token`, required_scope: ['a', 'b.c'], cache: { enabled: true, ttl: '1h' } })
  t.equal(await outcome(a, withBasic('id 1', 's:é')), 'id 1')
  const cachedBy = Date.now()
  const seen = endpoint.seen[0]!
  t.equal(seen.method, 'POST')
  t.equal(seen.url, '/oauth2/token')
  t.equal(seen.headers['content-type'], 'application/x-www-form-urlencoded')
  t.equal(seen.body, 'grant_type=client_credentials&scope=a+b.c')
  t.equal(seen.headers.authorization, `Basic ${Buffer.from('id+1:s%3A%C3%A9').toString('base64')}`)
  t.equal(await outcome(a, withBasic('id 1', 's:é')), 'id 1')
  t.equal(endpoint.seen.length, 1, 'cached')
  await until(() => Date.now() > cachedBy + expiresIn * 1000, 'the token to expire')
  t.equal(await outcome(a, withBasic('id 1', 's:é')), 'id 1')
  t.equal(endpoint.seen.length, 2, `expires_in (${expiresIn}s) wins over cache.ttl (1h)`)
})

t.test('concurrent requests with the same credentials share one token request', async (t) => {
  const endpoint = await startRecorder(t, (_r, res) => setTimeout(() => reply(200, { access_token: 'at', expires_in: 60 })(_r, res), 50))
  const a = authn({ token_url: endpoint.url })
  const results = await Promise.all(Array.from({ length: 20 }, () => outcome(a, withBasic('burst', 'x'))))
  t.same(new Set(results), new Set(['burst']))
  t.equal(endpoint.seen.length, 1)
})

t.test('token endpoint failures map as in Oathkeeper; unreachable → 503', async (t) => {
  const endpoint = await startRecorder(t)
  // One attempt each (max_delay 0s), with a budget a busy machine's answer fits in with room to spare.
  const a = authn({ token_url: endpoint.url, retry: { give_up_after: '10s', max_delay: '0s' } })
  const cases: Array<[status: number, body: unknown, want: [string, number]]> = [
    [400, { error: 'invalid_scope' }, ['GATEHOUSE_ERR_UNAUTHORIZED', 401]],
    [401, { error: 'invalid_client' }, ['GATEHOUSE_ERR_UNAUTHORIZED', 401]],
    [404, 'not found', ['GATEHOUSE_ERR_INTERNAL', 500]],
    [500, 'boom', ['GATEHOUSE_ERR_INTERNAL', 500]],
    [503, 'down', ['GATEHOUSE_ERR_UNAVAILABLE', 503]],
    [504, 'slow', ['GATEHOUSE_ERR_UPSTREAM_TIMEOUT', 504]],
    [200, { token_type: 'bearer' }, ['GATEHOUSE_ERR_UNAVAILABLE', 503]],
    [200, 'not json', ['GATEHOUSE_ERR_UNAVAILABLE', 503]],
  ]
  for (const [status, body, want] of cases) {
    endpoint.answer(reply(status, body))
    t.same(await outcome(a, withBasic('svc', 'x')), want, `${status} ${JSON.stringify(body)}`)
  }
  endpoint.answer(reply(429, '', { 'retry-after': '12' }))
  const r = withBasic('svc', 'x')
  const err = await Promise.resolve(a(r, newSession(r, []))).then(
    () => undefined,
    (e: unknown) => e as GatehouseError,
  )
  t.equal(err?.status, 429)
  t.same(err?.headers, { 'retry-after': '12' })

  const gone = authn({ token_url: `http://127.0.0.1:${await closedPort()}/oauth2/token` })
  t.same(await outcome(gone, withBasic('svc', 'x')), ['GATEHOUSE_ERR_UNAVAILABLE', 503])
})

t.test('retry: a 503 is tried again within give_up_after', async (t) => {
  let calls = 0
  const endpoint = await startRecorder(t, (r, res) => (++calls === 1 ? reply(503, 'busy') : reply(200, { access_token: 'at' }))(r, res))
  const a = authn({ token_url: endpoint.url, retry: { give_up_after: '2s', max_delay: '10ms' } })
  t.equal(await outcome(a, withBasic('svc', 'x')), 'svc')
  t.equal(endpoint.seen.length, 2)
  t.throws(() => authn({ token_url: endpoint.url, retry: { give_up_after: 'soon' } }), /retry\.give_up_after: invalid duration "soon"/)
})
