// Failure behaviour: Postgres restarted under a running token server (and a gateway using it).
// During the outage the APIs answer 503 (never 500, never a stack trace); afterwards they work
// again by themselves, revocation events included, without restarting anything. The database
// is a private instance: the machine's shared one is used by other tests in parallel.
import t from 'tap'
import { openStore } from '../src/token-server/store/open.js'
import { timed, until } from './helpers/faults.js'
import { createPrivatePostgres } from './helpers/private-postgres.js'
import { introspectionGateway } from './helpers/introspection-gateway.js'
import { openSse } from './helpers/sse.js'
import { basic, call, startTokenServer, type Answer } from './helpers/token-server.js'

/**
 * How long the store waits for a connection (the DSN's connect_timeout): what "a hang" would
 * last. Answers are held to a fraction of it, so a refused connection is told from a wait.
 */
const CONNECT_TIMEOUT_S = 20

t.test('Postgres stopped and started again: 503 meanwhile, then success without restarting Gatehouse', { timeout: 90_000 }, async (t) => {
  const pg = await createPrivatePostgres()
  t.teardown(() => pg.destroy())
  await pg.start()

  const ts = await startTokenServer({ store: openStore(`${pg.url}&connect_timeout=${CONNECT_TIMEOUT_S}`) })
  t.teardown(() => ts.close())
  // The gateway retries the 503s of the outage until it gives up: a budget in which a busy
  // machine's healthy introspection fits with room to spare, waited out once.
  const { get } = await introspectionGateway(t, { introspection_url: `${ts.adminUrl}/admin/oauth2/introspect`, retry: { give_up_after: '3s' } })

  t.equal((await call('POST', `${ts.adminUrl}/admin/clients`, { json: { client_id: 'svc', client_secret: 'secret-svc', grant_types: ['client_credentials'] } })).status, 201)
  const tokenCall = () => call('POST', `${ts.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('svc', 'secret-svc') })
  const introspect = (tok: string) => call('POST', `${ts.adminUrl}/admin/oauth2/introspect`, { form: { token: tok } })
  const ready = () => call('GET', `${ts.adminUrl}/health/ready`)
  const viaGateway = async (tok: string) => {
    const res = await get(tok)
    return { status: res.status, body: JSON.parse(res.body) as unknown }
  }
  const before = await tokenCall()
  t.equal(before.status, 200)
  const tok = before.body.access_token as string
  t.equal((await introspect(tok)).body.active, true)
  t.equal((await viaGateway(tok)).status, 200)
  const feed = await openSse(`${ts.adminUrl}/admin/revocations/events`)
  t.teardown(() => feed.close())
  await feed.next((e) => e.event === 'ready')

  await pg.stop()
  const stoppedAt = Date.now()

  /** 503 in Hydra's shape, with Retry-After, nothing about the failure's internals. */
  const isUnavailable = (r: Answer, what: string): void => {
    t.equal(r.status, 503, `${what}: 503`)
    t.same(r.body, { error: 'temporarily_unavailable', error_description: 'The storage backend is unavailable; try again shortly' }, `${what}: Hydra's error shape`)
    t.equal(r.headers['retry-after'], '1', `${what}: Retry-After`)
    t.notMatch(JSON.stringify(r.body), /\bat \S+:\d+|ECONNREFUSED|postgres:\/\//, `${what}: no stack trace, no connection detail`)
  }
  for (let i = 0; i < 3; i++) {
    const { value: issued, ms } = await timed(tokenCall)
    isUnavailable(issued, `POST /oauth2/token #${i + 1}`)
    t.ok(ms < (CONNECT_TIMEOUT_S * 1000) / 4, `answered at once (${ms}ms), not after waiting for the ${CONNECT_TIMEOUT_S} s connect timeout`)
    isUnavailable(await introspect(tok), `POST /admin/oauth2/introspect #${i + 1}`)
  }
  const notReady = await ready()
  t.equal(notReady.status, 503, '/health/ready: 503')
  t.same(notReady.body, { errors: { database: 'the store is not reachable' } })
  t.equal((await call('GET', `${ts.adminUrl}/health/alive`)).status, 200, '/health/alive: the process itself is fine')
  t.same(
    await viaGateway(tok),
    { status: 503, body: { error: { code: 503, status: 'Service Unavailable', message: 'A service needed to check the request is unavailable' } } },
    'through the gateway: 503, fail closed',
  )

  await pg.start()
  const restartedAt = Date.now()
  const recovered = await until(async () => (await tokenCall()).status === 200, 30_000, 50)
  t.ok(recovered >= 0, `POST /oauth2/token succeeds again ${recovered}ms after Postgres is back (down ${restartedAt - stoppedAt}ms)`)
  t.same((await introspect(tok)).body.active, true, 'the token issued before the outage is still active')
  t.equal((await ready()).status, 200, '/health/ready: 200')
  t.equal((await viaGateway(tok)).status, 200, 'through the gateway: 200')

  // The LISTEN connection came back too: subscribers are told they may have missed events, and
  // revocations flow again (with a single token server they travel through Postgres as well).
  await feed.next((e) => e.event === 'reset', 30_000)
  t.pass(`the feed said "reset" ${Date.now() - restartedAt}ms after Postgres was back`)
  const revoked = await timed(async () => {
    await call('POST', `${ts.publicUrl}/oauth2/revoke`, { form: { token: tok }, headers: basic('svc', 'secret-svc') })
    return feed.next((e) => e.event === 'revoked')
  })
  t.match(JSON.parse(revoked.value.data), { type: 'token' }, `a revocation after the restart reaches the feed (${revoked.ms}ms)`)
  t.equal((await viaGateway(tok)).status, 401, 'and the revoked token is refused')
})
