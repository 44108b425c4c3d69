import t, { type Test } from 'tap'
import { IntrospectionCache, signatureHash } from '../src/pipeline/authn/introspection/cache.js'
import { until } from './helpers/faults.js'
import { introspectionGateway } from './helpers/introspection-gateway.js'
import { basic, call, startTokenServer } from './helpers/token-server.js'

/**
 * How long a test waits for what happens within milliseconds on an idle machine (a revocation
 * event evicting a cached answer, a feed connecting): it only bounds a hang. The answers are
 * cached for an hour, so a rejection can only come from the event.
 */
const EVENT_WAIT_MS = 20_000

t.test('revocation events: a cached token is rejected at once after /oauth2/revoke, DELETE tokens, client deletion', async (t) => {
  const ts = await startTokenServer()
  t.teardown(() => ts.close())
  // An hour: without events a revoked token would be accepted that long.
  const { gw, get } = await gatewayFor(t, `${ts.adminUrl}/admin/oauth2/introspect`, { revocation_events_url: `${ts.adminUrl}/admin/revocations/events` })
  await call('POST', `${ts.adminUrl}/admin/clients`, { json: { client_id: 'svc', client_secret: 'secret-1', grant_types: ['client_credentials'] } })
  const token = async () => (await call('POST', `${ts.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('svc', 'secret-1') })).body.access_token as string
  const connected = await until(async () => gw.logs.some((l) => l.msg === 'following revocation events'), EVENT_WAIT_MS)
  t.ok(connected >= 0, 'the gateway follows the feed')

  const a = await token()
  t.equal(await get(a), 200)
  t.equal(await get(a), 200, 'now cached')
  await call('POST', `${ts.publicUrl}/oauth2/revoke`, { form: { token: a }, headers: basic('svc', 'secret-1') })
  const took = await until(async () => (await get(a)) === 401, EVENT_WAIT_MS)
  t.ok(took >= 0, `revoked token rejected (${took} ms after the revocation)`)

  const b = await token()
  const c = await token()
  t.equal(await get(b), 200)
  t.equal(await get(c), 200)
  await call('DELETE', `${ts.adminUrl}/admin/oauth2/tokens?client_id=svc`)
  t.ok((await until(async () => (await get(b)) === 401 && (await get(c)) === 401, EVENT_WAIT_MS)) >= 0, 'all of the client’s tokens')

  const d = await token()
  t.equal(await get(d), 200)
  await call('DELETE', `${ts.adminUrl}/admin/clients/svc`)
  t.ok((await until(async () => (await get(d)) === 401, EVENT_WAIT_MS)) >= 0, 'client deleted: its cached token goes')
})

t.test('IntrospectionCache: eviction by signature and client; an answer fetched before a revocation is not stored', async (t) => {
  const cache = new IntrospectionCache(100)
  const answer = (client: string) => ({ active: true, sub: client, username: '', client_id: client, scope: '', scopes: [], exp: 0, aud: [], iss: '', token_use: '', ext: {} })
  const tok1 = 'ory_at_key1.sig1'
  const tok2 = 'ory_at_key2.sig2'
  const k1 = IntrospectionCache.key(tok1)
  const k2 = IntrospectionCache.key(tok2)
  cache.set(k1, answer('a') as never, Date.now(), 60_000, 5000, tok1)
  cache.set(k2, answer('a') as never, Date.now(), 60_000, 5000, tok2)
  t.ok(cache.get(k1, 60_000, 5000))
  t.equal(cache.revokeSignature(signatureHash(tok1)), 1)
  t.equal(cache.get(k1, 60_000, 5000), undefined)
  t.ok(cache.get(k2, 60_000, 5000))
  t.equal(cache.revokeClient('a'), 1)
  t.equal(cache.get(k2, 60_000, 5000), undefined)
  const before = Date.now() - 10
  cache.set(k2, answer('a') as never, before, 60_000, 5000, tok2)
  t.equal(cache.get(k2, 60_000, 5000), undefined, 'fetched before the revocation: stale, not stored')
  cache.shortTtlMs = 1
  cache.set(k1, answer('b') as never, Date.now(), 60_000, 5000, 'ory_at_key3.sig3')
  await new Promise((r) => setTimeout(r, 5))
  t.equal(cache.get(k1, 60_000, 5000), undefined, 'while events are down, fresh answers are kept only briefly')
})

t.test('IntrospectionCache.clear: an answer fetched before the clear and stored after it is refused (it may be stale)', async (t) => {
  const cache = new IntrospectionCache(100)
  const answer = { active: true, sub: 'a', username: '', client_id: 'a', scope: '', scopes: [], exp: 0, aud: [], iss: '', token_use: '', ext: {} }
  const tok = 'ory_at_key9.sig9'
  const k = IntrospectionCache.key(tok)
  const fetchedBefore = Date.now() - 10
  cache.clear()
  cache.set(k, answer as never, fetchedBefore, 60_000, 5000, tok)
  t.equal(cache.get(k, 60_000, 5000), undefined, 'fetched before the clear: not stored')
  cache.set(k, answer as never, Date.now() + 1, 60_000, 5000, tok)
  t.ok(cache.get(k, 60_000, 5000), 'fetched after it: stored')
})

t.test('IntrospectionCache.get: an answer past its exp is a miss even while the LRU still holds it', async (t) => {
  const cache = new IntrospectionCache(100)
  const exp = Math.floor(Date.now() / 1000) + 60
  const answer = { active: true, sub: 'a', username: '', client_id: 'a', scope: '', scopes: [], exp, aud: [], iss: '', token_use: '', ext: {} }
  const tok = 'ory_at_key10.sig10'
  const k = IntrospectionCache.key(tok)
  cache.set(k, answer as never, Date.now(), undefined, 5000, tok)
  t.ok(cache.get(k, undefined, 5000), 'before exp: a hit')
  // The LRU's own clock (performance.now, refreshed on a timer that lags on a busy machine)
  // still says the entry lives; the wall clock is past exp.
  const realNow = Date.now
  Date.now = () => exp * 1000 + 1
  try {
    t.equal(cache.get(k, undefined, 5000), undefined, 'past exp: a miss')
  } finally {
    Date.now = realNow
  }
  t.equal(cache.lru.has(k), false, 'and the entry is dropped')
})

t.test('the stream lost: answers fetched meanwhile are kept only briefly, until it is back', async (t) => {
  const ts = await startTokenServer()
  t.teardown(() => ts.close())
  const { RevocationSubscriber } = await import('../src/pipeline/authn/introspection/revocation-events.js')
  const { Agent } = await import('undici')
  const { pino } = await import('pino')
  const http = new Agent()
  t.teardown(() => http.close())
  const cache = new IntrospectionCache(100)
  const sub = new RevocationSubscriber(`${ts.adminUrl}/admin/revocations/events`, {}, http, cache, pino({ level: 'silent' }))
  t.teardown(() => sub.dispose())
  t.ok((await until(async () => sub.connected, EVENT_WAIT_MS)) >= 0, 'connected')
  t.equal(cache.shortTtlMs, undefined, 'full ttl while connected')
  await ts.close()
  t.ok((await until(async () => !sub.connected, EVENT_WAIT_MS)) >= 0, 'notices the loss')
  t.equal(cache.shortTtlMs, 5000, 'short ttl while disconnected')
})

t.test('feedUrlFor: the feed next to the introspection endpoint, behind any path prefix', async (t) => {
  const { feedUrlFor } = await import('../src/pipeline/authn/introspection/revocation-events.js')
  t.equal(feedUrlFor('http://hydra:4445/admin/oauth2/introspect'), 'http://hydra:4445/admin/revocations/events')
  t.equal(feedUrlFor('https://auth.example/ts-admin/admin/oauth2/introspect?x=1'), 'https://auth.example/ts-admin/admin/revocations/events')
  t.equal(feedUrlFor('http://hydra:4445/oauth2/introspect'), 'http://hydra:4445/admin/revocations/events', "Hydra 1.x's path")
  t.equal(feedUrlFor('http://idp:8080/some/other/introspect'), 'http://idp:8080/admin/revocations/events', 'else the origin')
})

/** A gateway with one rule protected by oauth2_introspection at `introspectionUrl`, cached for an hour. */
async function gatewayFor(t: Test, introspectionUrl: string, cache: Record<string, unknown> = {}) {
  // An Oathkeeper config: no revocation_events_url.
  // A budget (give_up_after) a busy machine's introspection fits in with room to spare.
  const { gw, get } = await introspectionGateway(t, { introspection_url: introspectionUrl, retry: { give_up_after: '10s' }, cache: { enabled: true, ttl: '1h', ...cache } })
  return { gw, get: async (tok: string) => (await get(tok)).status }
}

t.test('an Oathkeeper config (no revocation_events_url) still gets instant revocation from a Gatehouse token server', async (t) => {
  const ts = await startTokenServer()
  t.teardown(() => ts.close())
  const { gw, get } = await gatewayFor(t, `${ts.adminUrl}/admin/oauth2/introspect`)
  t.ok((await until(async () => gw.logs.some((l) => l.msg === 'following revocation events'), EVENT_WAIT_MS)) >= 0, 'the feed is found without configuration')
  t.same(
    gw.logs.filter((l) => l.msg === 'following revocation events').map((l) => l.url),
    [`${ts.adminUrl}/admin/revocations/events`],
  )
  await call('POST', `${ts.adminUrl}/admin/clients`, { json: { client_id: 'svc', client_secret: 'secret-1', grant_types: ['client_credentials'] } })
  const a = (await call('POST', `${ts.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('svc', 'secret-1') })).body.access_token as string
  t.equal(await get(a), 200)
  t.equal(await get(a), 200, 'now cached (for an hour)')
  await call('POST', `${ts.publicUrl}/oauth2/revoke`, { form: { token: a }, headers: basic('svc', 'secret-1') })
  const took = await until(async () => (await get(a)) === 401, EVENT_WAIT_MS)
  t.ok(took >= 0, `revoked token rejected (${took} ms after the revocation)`)
  t.notOk(gw.logs.some((l) => (l.level as number) >= 40), 'no warnings')
})

t.test('against Hydra (no feed): one probe, answered 404, one info line, no retries, no warnings; the cache keeps its ttl', async (t) => {
  const { startFakeIntrospection } = await import('./helpers/introspection-endpoint.js')
  const hydra = await startFakeIntrospection({ tok: { active: true } })
  t.teardown(() => hydra.close())
  const { gw, get } = await gatewayFor(t, hydra.url)
  const gaveUp = () => gw.logs.some((l) => l.msg === 'no revocation feed next to the introspection endpoint; cached answers live until cache.ttl')
  t.ok((await until(async () => gaveUp(), EVENT_WAIT_MS)) >= 0, 'the probe was answered and the gateway gave up')
  t.same(hydra.others, ['GET /admin/revocations/events'], 'one probe')
  t.equal(await get('tok'), 200)
  t.equal(await get('tok'), 200)
  t.equal(hydra.calls.length, 1, 'the second request is answered from the cache')
  t.same(hydra.others, ['GET /admin/revocations/events'], 'still one probe')
  t.notOk(gw.logs.some((l) => (l.level as number) >= 40), 'no warnings')
})

t.test('a discovered feed: 4xx or no event stream → absent for good, full ttl; 5xx → retried quietly', async (t) => {
  const { RevocationSubscriber } = await import('../src/pipeline/authn/introspection/revocation-events.js')
  const { Agent } = await import('undici')
  const { createServer } = await import('node:http')
  const { pino } = await import('pino')
  const http = new Agent()
  t.teardown(() => http.close())
  let answer = { status: 404, type: 'application/json' }
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`)
    res.writeHead(answer.status, { 'content-type': answer.type })
    res.end('{}')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))))
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/admin/revocations/events`
  const lines: string[] = []
  const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) })

  for (const a of [{ status: 404, type: 'application/json' }, { status: 401, type: 'application/json' }, { status: 200, type: 'text/html' }]) {
    answer = a
    hits.length = 0
    lines.length = 0
    const cache = new IntrospectionCache(100)
    const sub = new RevocationSubscriber(url, {}, http, cache, logger, 'discovered')
    t.equal(cache.shortTtlMs, undefined, `${a.status} ${a.type}: full ttl while probing`)
    t.ok((await until(async () => sub.absent, EVENT_WAIT_MS)) >= 0, `${a.status} ${a.type}: no feed`)
    t.equal(cache.shortTtlMs, undefined, 'full ttl')
    t.equal(hits.length, 1, 'asked once')
    t.equal(lines.filter((l) => JSON.parse(l).level >= 40).length, 0, 'no warning')
    t.equal(lines.length, 1, 'one log line')
    sub.dispose()
  }

  answer = { status: 503, type: 'application/json' }
  hits.length = 0
  lines.length = 0
  const cache = new IntrospectionCache(100)
  const sub = new RevocationSubscriber(url, {}, http, cache, logger, 'discovered')
  t.ok((await until(async () => hits.length >= 2, EVENT_WAIT_MS)) >= 0, '503: tried again (with backoff)')
  sub.dispose()
  t.notOk(sub.absent)
  t.equal(cache.shortTtlMs, undefined, 'full ttl: no feed has been seen yet')
  t.equal(lines.filter((l) => JSON.parse(l).level >= 40).length, 0, 'quietly (debug only)')

  answer = { status: 404, type: 'application/json' }
  hits.length = 0
  const configured = new RevocationSubscriber(url, {}, http, new IntrospectionCache(100), pino({ level: 'silent' }), 'configured')
  t.ok((await until(async () => hits.length >= 2, EVENT_WAIT_MS)) >= 0, 'a configured URL is retried, 404 or not: the operator named it')
  t.notOk(configured.absent)
  configured.dispose()
})

t.test('revocation_events_url "" turns the feed off: nothing is asked', async (t) => {
  const { startFakeIntrospection } = await import('./helpers/introspection-endpoint.js')
  const hydra = await startFakeIntrospection({ tok: { active: true } })
  t.teardown(() => hydra.close())
  const { gw, get } = await gatewayFor(t, hydra.url, { revocation_events_url: '' })
  t.equal(await get('tok'), 200)
  t.equal(await get('tok'), 200)
  t.same(hydra.others, [])
  t.notOk(gw.logs.some((l) => String(l.msg).includes('revocation')))
})
