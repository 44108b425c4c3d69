import { createHash } from 'node:crypto'
import t from 'tap'
import { basic, call, forEachStore, POSTGRES_URL, startTokenServer, type RunningTokenServer } from './helpers/token-server.js'
import { openSse } from './helpers/sse.js'
import { untilListening } from './helpers/stores.js'

const sigHash = (token: string) => createHash('sha256').update(token.slice(token.lastIndexOf('.') + 1)).digest('hex')

async function issue(s: RunningTokenServer, id = 'svc'): Promise<string> {
  await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: id, client_secret: `secret-${id}`, grant_types: ['client_credentials'] } })
  return (await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic(id, `secret-${id}`) })).body.access_token
}

forEachStore(t, 'revocation events: revoke, delete tokens, delete client and secret change are announced', async (t, s) => {
  const feed = await openSse(`${s.adminUrl}/admin/revocations/events`)
  t.teardown(feed.close)
  const ready = await feed.next((e) => e.event === 'ready')
  t.match(ready.id, /^[0-9a-f]{8}:\d+$/)
  const token = await issue(s)
  await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token }, headers: basic('svc', 'secret-svc') })
  const revoked = await feed.next((e) => e.event === 'revoked')
  t.same(JSON.parse(revoked.data), { type: 'token', signature_hash: sigHash(token) }, 'the hash a gateway can compute from the token')
  await call('DELETE', `${s.adminUrl}/admin/oauth2/tokens?client_id=svc`)
  t.same(JSON.parse((await feed.next((e) => e.event === 'revoked')).data), { type: 'client', client_id: 'svc' })

  const before = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('svc', 'secret-svc') })
  const same = await call('PUT', `${s.adminUrl}/admin/clients/svc`, { json: { client_secret: 'secret-svc', grant_types: ['client_credentials'] } })
  t.equal(same.status, 200)
  t.equal((await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: before.body.access_token } })).body.active, true, 'the same secret again changes nothing')
  await call('PUT', `${s.adminUrl}/admin/clients/svc`, { json: { client_secret: 'a-new-secret', grant_types: ['client_credentials'] } })
  t.same(JSON.parse((await feed.next((e) => e.event === 'revoked')).data), { type: 'client', client_id: 'svc' }, 'a secret change revokes')
  t.same((await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: before.body.access_token } })).body, { active: false })
  await call('DELETE', `${s.adminUrl}/admin/clients/svc`)
  t.same(JSON.parse((await feed.next((e) => e.event === 'revoked')).data), { type: 'client', client_id: 'svc' })
})

forEachStore(t, '/oauth2/revoke revokes the whole grant of the token, and announces each of its tokens', async (t, s, store) => {
  const token = await issue(s)
  const record = (await store.getToken(sigHash(token)))!
  t.equal(record.token_use, 'access_token')
  t.match(record.grant_id, /^[0-9a-f-]{36}$/, 'a client-credentials token is a grant of its own')
  const second = await issue(s)
  t.not((await store.getToken(sigHash(second)))!.grant_id, record.grant_id, 'each token request is its own grant')
  // A refresh token of the same grant, as the refresh grant will store it.
  await store.insertToken({ ...record, signature_hash: 'refresh-of-the-grant', token_use: 'refresh_token' })
  const feed = await openSse(`${s.adminUrl}/admin/revocations/events`)
  t.teardown(feed.close)
  await feed.next((e) => e.event === 'ready')
  t.equal((await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token }, headers: basic('svc', 'secret-svc') })).status, 200)
  t.equal(await store.getToken('refresh-of-the-grant'), undefined, 'the refresh token went with the access token')
  t.ok(await store.getToken(sigHash(second)), 'another grant of the same client stays')
  const announced = [await feed.next((e) => e.event === 'revoked'), await feed.next((e) => e.event === 'revoked')]
  t.same(announced.map((e) => JSON.parse(e.data).signature_hash).sort(), [sigHash(token), 'refresh-of-the-grant'].sort())
})

t.test('resume: Last-Event-ID replays what was missed; an unknown cursor gets reset', async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  const first = await openSse(`${s.adminUrl}/admin/revocations/events`)
  const ready = await first.next((e) => e.event === 'ready')
  first.close()
  const a = await issue(s, 'a')
  const b = await issue(s, 'b')
  await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token: a }, headers: basic('a', 'secret-a') })
  await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token: b }, headers: basic('b', 'secret-b') })
  const resumed = await openSse(`${s.adminUrl}/admin/revocations/events`, { 'last-event-id': ready.id! })
  t.teardown(resumed.close)
  const got = [await resumed.next((e) => e.event === 'revoked'), await resumed.next((e) => e.event === 'revoked')]
  t.same(got.map((e) => JSON.parse(e.data).signature_hash), [sigHash(a), sigHash(b)])
  const stranger = await openSse(`${s.adminUrl}/admin/revocations/events?last_event_id=deadbeef:3`)
  t.teardown(stranger.close)
  await stranger.next((e) => e.event === 'reset')
  t.pass('a cursor from another instance → reset')
})

t.test('Postgres: a revocation on one token server reaches the event streams of the others (LISTEN/NOTIFY)', async (t) => {
  const { openStore } = await import('../src/token-server/store/open.js')
  const pg = (await import('pg')).default
  const schema = `gh_test_events_${process.pid}`
  const url = new URL(POSTGRES_URL)
  url.searchParams.set('search_path', schema)
  const storeA = openStore(url.href)
  const storeB = openStore(url.href)
  const a = await startTokenServer({ store: storeA })
  const b = await startTokenServer({ store: storeB })
  t.teardown(async () => {
    await a.close()
    await b.close()
    const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 })
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await admin.end()
  })
  const feedA = await openSse(`${a.adminUrl}/admin/revocations/events`)
  t.teardown(feedA.close)
  await feedA.next((e) => e.event === 'ready')
  const token = await issue(b, 'shared')
  t.equal((await call('POST', `${a.adminUrl}/admin/oauth2/introspect`, { form: { token } })).body.active, true, 'one database')
  // Each server's LISTEN connection is set up in the background: wait until both are there.
  await untilListening(schema, 2)
  const started = Date.now()
  await call('POST', `${b.publicUrl}/oauth2/revoke`, { form: { token }, headers: basic('shared', 'secret-shared') })
  // Nothing but the notification can tell A: no polling, no shared memory.
  const e = await feedA.next((x) => x.event === 'revoked')
  t.same(JSON.parse(e.data), { type: 'token', signature_hash: sigHash(token) }, `announced on the other instance (${Date.now() - started} ms)`)
})
