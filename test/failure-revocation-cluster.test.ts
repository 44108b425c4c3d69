// Instant revocation across instances: two token servers on one Postgres, two gateways, each
// following a different token server's revocation feed, every token cached for an hour. A
// revocation made on either token server reaches both gateways (well within a second on an idle
// machine; the tests wait for it, since only the event can evict an answer cached for an hour). A
// gateway that loses its feed keeps to the documented bound and catches up (or clears) when it
// is back.
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { DISCONNECTED_TTL_MS } from '../src/pipeline/authn/introspection/revocation-events.js'
import { openStore } from '../src/token-server/store/open.js'
import { startRelay, timed, until } from './helpers/faults.js'
import { ALL_HANDLERS, startGateway, startUpstream, type TestGateway } from './helpers/servers.js'
import { adminQuery, postgresDsn, uniqueSchema } from './helpers/stores.js'
import { basic, call, startTokenServer, type RunningTokenServer } from './helpers/token-server.js'

/** The feed's reconnect backoff never exceeds 5 s (revocation-events.ts MAX_BACKOFF_MS): twice that. */
const RECONNECT_BOUND_MS = 2 * 5000
/**
 * How long a test waits for an event that arrives within milliseconds on an idle machine (a
 * revocation reaching a gateway, a feed noticed lost): it only bounds a hang, so it is generous.
 */
const EVENT_WAIT_MS = 20_000

const schema = uniqueSchema()
const dsn = postgresDsn({ sslmode: 'disable', max_conns: '4', search_path: schema })
t.teardown(async () => void (await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)))

const servers: RunningTokenServer[] = []
async function tokenServer(ports?: { public: number; admin: number }): Promise<RunningTokenServer> {
  const config = ports === undefined ? {} : { serve: { public: { port: ports.public }, admin: { port: ports.admin } } }
  const s = await startTokenServer({ store: openStore(dsn), config })
  servers.push(s)
  return s
}
// Registered first, so it runs after the gateways have closed (teardowns run last-in first-out).
t.teardown(async () => void (await Promise.all(servers.map((s) => s.close()))))
let ts1 = await tokenServer()
const ts2 = await tokenServer()
const ts1Ports = { public: Number(new URL(ts1.publicUrl).port), admin: Number(new URL(ts1.adminUrl).port) }

const up = await startUpstream()
t.teardown(() => up.close())
// Gateway A reaches ts1's feed through a relay, so that the feed alone can be cut.
const feedRelay = await startRelay(ts1Ports.admin)
t.teardown(() => feedRelay.close())

async function gateway(introspectAt: string, feedAt: string): Promise<TestGateway> {
  const gw = await startGateway(
    {
      'rules.yml': `
- id: api
  match: { url: 'http://gw.test/api', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: oauth2_introspection }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`,
    },
    {
      authenticators: {
        ...ALL_HANDLERS.authenticators,
        oauth2_introspection: {
          enabled: true,
          config: {
            introspection_url: `${introspectAt}/admin/oauth2/introspect`,
            // A budget a busy machine's healthy introspection fits in; waited out once, when ts1 is down.
            retry: { give_up_after: '3s' },
            cache: { enabled: true, ttl: '1h', revocation_events_url: `${feedAt}/admin/revocations/events` },
          },
        },
      },
    },
  )
  t.teardown(() => gw.close())
  return gw
}
const gwA = await gateway(ts1.adminUrl, feedRelay.url)
const gwB = await gateway(ts2.adminUrl, ts2.adminUrl)
const following = (gw: TestGateway): number => gw.logs.filter((l) => l.msg === 'following revocation events').length
// Setup is checked by throwing: assertions at the top level would end tap's root test early.
if ((await until(() => following(gwA) > 0 && following(gwB) > 0, EVENT_WAIT_MS)) < 0) throw new Error('the gateways do not follow their feeds')

const agent = new Agent({ connections: 32 })
t.teardown(() => agent.close())
async function status(gw: TestGateway, tok: string): Promise<number> {
  const res = await request(`${gw.proxy}/api`, { dispatcher: agent, headers: { host: 'gw.test', authorization: `Bearer ${tok}` } })
  await res.body.dump()
  return res.statusCode
}
/** Introspection calls a token server has answered so far (its own metrics). */
async function introspections(ts: RunningTokenServer): Promise<number> {
  const text = (await call('GET', `${ts.adminUrl}/admin/metrics/prometheus`)).body as string
  let n = 0
  for (const m of text.matchAll(/^gatehouse_token_server_http_requests_total\{[^}]*route="\/admin\/oauth2\/introspect"[^}]*\} (\d+)/gm)) n += Number(m[1])
  return n
}

let secret = 'secret-1'
if ((await call('POST', `${ts1.adminUrl}/admin/clients`, { json: { client_id: 'svc', client_secret: secret, grant_types: ['client_credentials'] } })).status !== 201) {
  throw new Error('could not create the client')
}
async function token(from: RunningTokenServer, client = 'svc'): Promise<string> {
  const r = await call('POST', `${from.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic(client, client === 'svc' ? secret : 'secret-other') })
  if (r.status !== 200) throw new Error(`token: ${JSON.stringify(r.body)}`)
  return r.body.access_token as string
}

/** Gets `tokens` accepted and cached by both gateways, and checks they are served from the caches. */
async function cachedInBoth(t: Test, tokens: readonly string[]): Promise<void> {
  for (const tok of tokens) for (const gw of [gwA, gwB]) t.equal(await status(gw, tok), 200)
  const calls = (await introspections(ts1)) + (await introspections(ts2))
  for (const tok of tokens) for (const gw of [gwA, gwB]) t.equal(await status(gw, tok), 200)
  t.equal((await introspections(ts1)) + (await introspections(ts2)), calls, 'cached in both gateways: no introspection call')
}

/**
 * Runs `act` (a revocation), then the time until `gws` all refuse every token (-1: they did not
 * within EVENT_WAIT_MS; the tokens were cached for an hour, so only a revocation event evicts them).
 */
async function refusedBy(gws: readonly TestGateway[], tokens: readonly string[], act: () => Promise<unknown>): Promise<number> {
  await act()
  return until(async () => {
    for (const gw of gws) for (const tok of tokens) if ((await status(gw, tok)) !== 401) return false
    return true
  }, EVENT_WAIT_MS, 10)
}

function revoke(ts: RunningTokenServer, tok: string): Promise<unknown> {
  return call('POST', `${ts.publicUrl}/oauth2/revoke`, { form: { token: tok }, headers: basic('svc', secret) })
}

t.test('a revocation on one token server evicts the token from both gateways at once', async (t) => {
  const cases: { what: string; tokens: () => Promise<string[]>; revoke: (tokens: string[]) => Promise<unknown> }[] = [
    {
      what: 'POST /oauth2/revoke on ts2 (gateway A follows ts1)',
      tokens: async () => [await token(ts1)],
      revoke: ([tok]) => revoke(ts2, tok!),
    },
    {
      what: 'POST /oauth2/revoke on ts1 (gateway B follows ts2)',
      tokens: async () => [await token(ts2)],
      revoke: ([tok]) => revoke(ts1, tok!),
    },
    {
      what: 'DELETE /admin/oauth2/tokens?client_id= on ts2',
      tokens: async () => [await token(ts1), await token(ts2)],
      revoke: () => call('DELETE', `${ts2.adminUrl}/admin/oauth2/tokens?client_id=svc`),
    },
    {
      what: 'a new client secret on ts1',
      tokens: async () => [await token(ts1), await token(ts2)],
      revoke: async () => {
        secret = 'secret-2'
        return call('PATCH', `${ts1.adminUrl}/admin/clients/svc`, { json: [{ op: 'replace', path: '/client_secret', value: secret }] })
      },
    },
    {
      what: 'client deletion on ts2',
      tokens: async () => {
        await call('POST', `${ts2.adminUrl}/admin/clients`, { json: { client_id: 'other', client_secret: 'secret-other', grant_types: ['client_credentials'] } })
        return [await token(ts1, 'other'), await token(ts2, 'other')]
      },
      revoke: () => call('DELETE', `${ts2.adminUrl}/admin/clients/other`),
    },
  ]
  for (const c of cases) {
    const tokens = await c.tokens()
    await cachedInBoth(t, tokens)
    const took = await refusedBy([gwA, gwB], tokens, () => c.revoke(tokens))
    t.ok(took >= 0, `${c.what}: refused by both gateways after ${took}ms, though cached for an hour`)
  }
})

t.test('gateway A loses its feed: fresh answers kept at most 5 s meanwhile; on reconnect it catches up', { timeout: 90_000 }, async (t) => {
  const revoked = await token(ts1)
  const kept = await token(ts2)
  await cachedInBoth(t, [revoked, kept])

  await feedRelay.set('refuse')
  t.ok((await until(() => gwA.logs.some((l) => l.msg?.toString().startsWith('revocation events unavailable')), EVENT_WAIT_MS)) >= 0, 'A notices the feed is gone')
  const lostAt = Date.now()
  // Revoked while A cannot hear it: B, on its own feed, refuses it at once.
  t.ok((await refusedBy([gwB], [revoked], () => revoke(ts2, revoked))) >= 0, 'B refuses the revoked token')
  t.comment(`A meanwhile answers ${await status(gwA, revoked)} for it: an answer cached before the loss lasts until A reconnects (or its ttl)`)

  // An answer A fetches while the feed is down is kept only briefly: revoked on ts2, A refuses
  // it once DISCONNECTED_TTL_MS has passed, though it never heard of the revocation.
  const fresh = await token(ts1)
  t.equal(await status(gwA, fresh), 200)
  const fetchedAt = Date.now()
  await revoke(ts2, fresh)
  const expired = await until(async () => (await status(gwA, fresh)) === 401, 2 * DISCONNECTED_TTL_MS, 50)
  t.ok(expired >= 0, `A refuses it ${Date.now() - fetchedAt}ms after fetching it (bound ${DISCONNECTED_TTL_MS}ms), feed still down`)

  // Back: A resumes from its last event id, ts1 replays what A missed.
  const callsBefore = await introspections(ts1)
  await feedRelay.set('pass')
  const back = await until(async () => (await status(gwA, revoked)) === 401, RECONNECT_BOUND_MS, 50)
  t.ok(back >= 0, `A refuses the token revoked during the outage ${back}ms after the feed is back (${Date.now() - lostAt}ms after the loss)`)
  t.equal(await status(gwA, kept), 200)
  t.equal(await introspections(ts1), callsBefore + 1, 'caught up by replay, not by clearing: the other cached token is still served from the cache')
})

t.test('gateway A’s token server stops: cached answers served, others fail closed; when it is back A clears its cache', { timeout: 90_000 }, async (t) => {
  const cached = await token(ts2)
  const unseen = await token(ts2)
  await cachedInBoth(t, [cached])

  const lost = (): number => gwA.logs.filter((l) => l.msg?.toString().startsWith('revocation events unavailable')).length
  const lostBefore = lost()
  await ts1.close()
  t.ok((await until(() => lost() > lostBefore, EVENT_WAIT_MS)) >= 0, 'A notices')
  t.equal(await status(gwA, cached), 200, 'A serves what it has cached')
  t.equal(await status(gwA, unseen), 503, 'and fails closed for what it has not')
  t.ok((await refusedBy([gwB], [cached], () => revoke(ts2, cached))) >= 0, 'B refuses a token revoked meanwhile')

  // ts1 comes back on the same port: a new instance, whose feed cannot resume A's cursor. It
  // says "reset" and A drops every cached answer.
  ts1 = await tokenServer(ts1Ports)
  const { ms } = await timed(() => until(async () => (await status(gwA, cached)) === 401, RECONNECT_BOUND_MS, 50))
  t.equal(await status(gwA, cached), 401, `A refuses the token revoked while it was cut off, ${ms}ms after ts1 is back`)
  t.ok(gwA.logs.some((l) => l.msg === 'revocation events were missed; introspection cache cleared'), 'by clearing its cache')
  t.equal(await status(gwA, unseen), 200, 'and serves valid tokens again')
})

