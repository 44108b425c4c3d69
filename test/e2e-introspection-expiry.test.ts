import t from 'tap'
import { parseExposition } from './helpers/prometheus.js'
import { introspectionGateway } from './helpers/introspection-gateway.js'
import { basic, call, startTokenServer } from './helpers/token-server.js'

// A cached introspection answer must not outlive its token: a token whose lifespan is shorter
// than the cache's ttl is refused as soon as its `exp` has passed. The real token server and a
// real gateway; no sleeps racing anything: the test waits for the clock to pass `exp`.

t.test('a cached token is refused as soon as it expires, though the cache ttl (1h) is longer', async (t) => {
  const ts = await startTokenServer()
  t.teardown(() => ts.close())
  // No revocation feed: expiry alone must end the cached answer.
  const { up, get: call_ } = await introspectionGateway(t, {
    introspection_url: `${ts.adminUrl}/admin/oauth2/introspect`,
    // A budget (give_up_after) a busy machine's introspection fits in with room to spare.
    retry: { give_up_after: '10s' },
    cache: { enabled: true, ttl: '1h', revocation_events_url: '' },
  })

  const created = await call('POST', `${ts.adminUrl}/admin/clients`, {
    json: { client_id: 'brief', client_secret: 'secret-1', grant_types: ['client_credentials'], client_credentials_grant_access_token_lifespan: '4s' },
  })
  t.equal(created.status, 201)
  const issued = await call('POST', `${ts.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('brief', 'secret-1') })
  t.equal(issued.status, 200)
  t.ok(issued.body.expires_in <= 4, `a short-lived token (expires_in ${issued.body.expires_in})`)
  const token = issued.body.access_token as string
  const exp = (await call('POST', `${ts.adminUrl}/admin/oauth2/introspect`, { form: { token } })).body.exp as number

  /** The token server's introspection count, by answer. */
  const introspections = async (): Promise<{ active: number; inactive: number }> => {
    const text = (await call('GET', `${ts.adminUrl}/admin/metrics/prometheus`)).body as string
    const samples = parseExposition(text).samples.filter((s) => s.name === 'gatehouse_token_server_introspections_total')
    const of = (active: string) => samples.find((s) => s.labels.active === active)?.value ?? 0
    return { active: of('true'), inactive: of('false') }
  }
  const get = () => call_(token)

  const before = await introspections()
  t.equal((await get()).status, 200, 'valid: accepted')
  t.equal((await get()).status, 200, 'valid: accepted again')
  const cached = await introspections()
  t.same(cached, { active: before.active + 1, inactive: before.inactive }, 'introspected once, then answered from the cache')
  t.ok(Date.now() < exp * 1000, 'both requests came before exp (else the lifespan is too short for this machine)')

  // Wait for the event: the clock passing exp.
  while (Date.now() <= exp * 1000) await new Promise((r) => setTimeout(r, 25))

  const after = await get()
  t.equal(after.status, 401, 'expired: refused, though the cache ttl is an hour')
  // How: the cached entry's life was capped at exp, so the gateway asked again and the token
  // server said inactive. (Had the entry outlived exp, the exp check on cached answers would
  // still refuse it — without asking; that would show here as no new call.)
  t.same(await introspections(), { active: cached.active, inactive: cached.inactive + 1 }, 'the first request after exp asks the token server, which answers inactive')
  t.equal((await get()).status, 401, 'and stays refused (the inactive answer is cached)')
  t.equal(up.seen.length, 2, 'only the two requests before exp reached the upstream')
})
