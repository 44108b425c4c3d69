import t from 'tap'
import { MemoryStore } from '../src/token-server/store/memory.js'
import { basic, call, forEachStore, SECRET, startTokenServer, type RunningTokenServer } from './helpers/token-server.js'
import { until } from './helpers/wait.js'

async function issue(s: RunningTokenServer, id = 'svc', scope = 'api api.read', lifespan?: string): Promise<string> {
  await call('POST', `${s.adminUrl}/admin/clients`, {
    json: { client_id: id, client_secret: `secret-${id}`, grant_types: ['client_credentials'], scope, audience: ['https://api.test'], ...(lifespan ? { client_credentials_grant_access_token_lifespan: lifespan } : {}) },
  })
  const r = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials', scope }, headers: basic(id, `secret-${id}`) })
  if (r.status !== 200) throw new Error(JSON.stringify(r.body))
  return r.body.access_token
}

const introspect = (s: RunningTokenServer, form: Record<string, string>) => call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form })

forEachStore(t, 'introspection (RFC 7662): Hydra’s fields for an active token', async (t, s) => {
  const tok = await issue(s)
  const r = await introspect(s, { token: tok })
  t.equal(r.status, 200)
  const now = Math.floor(Date.now() / 1000)
  t.match(r.body, { active: true, scope: 'api api.read', client_id: 'svc', sub: 'svc', aud: [], iss: 'http://127.0.0.1:4444/', token_type: 'Bearer', token_use: 'access_token' })
  t.ok(Math.abs(r.body.iat - now) <= 2)
  t.equal(r.body.nbf, r.body.iat)
  t.equal(r.body.exp, r.body.iat + 3600)
  t.notOk('ext' in r.body, 'no ext when there are no extra claims')
})

forEachStore(t, 'introspection: the scope parameter must be satisfied, else inactive', async (t, s) => {
  const tok = await issue(s)
  t.equal((await introspect(s, { token: tok, scope: 'api.read' })).body.active, true)
  t.equal((await introspect(s, { token: tok, scope: 'api api.read' })).body.active, true)
  t.same((await introspect(s, { token: tok, scope: 'api.write' })).body, { active: false })
})

forEachStore(t, 'introspection: tampered, truncated, foreign, garbage and empty tokens are {"active":false}', async (t, s) => {
  const tok = await issue(s)
  const flip = (str: string, i: number) => str.slice(0, i) + (str[i] === 'A' ? 'B' : 'A') + str.slice(i + 1)
  const bad = [
    flip(tok, tok.length - 5),
    flip(tok, 10),
    tok.slice(0, -1),
    tok.replace('ory_at_', 'ory_rt_'),
    tok.replace('ory_at_', ''),
    `${tok}x`,
    'ory_at_x.y',
    'garbage',
    'a.b.c',
    'x'.repeat(10_000),
    '',
  ]
  for (const b of bad) {
    const r = await introspect(s, { token: b })
    t.equal(r.status, 200)
    t.same(r.body, { active: false }, b.slice(0, 40))
  }
  const missing = await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: {} })
  t.same([missing.status, missing.body.error], [400, 'invalid_request'])
})

forEachStore(t, 'introspection: an expired token is inactive', async (t, s) => {
  // Long enough that a busy machine answers the first introspection before it ends; the test
  // then waits for the clock to pass `exp` (the event), not for a fixed time.
  const tok = await issue(s, 'short', 'api', '3s')
  const first = (await introspect(s, { token: tok })).body
  t.equal(first.active, true)
  await until(() => Date.now() > first.exp * 1000, 'the token to expire', 10_000, 50)
  t.same((await introspect(s, { token: tok })).body, { active: false })
})

forEachStore(t, 'revocation (RFC 7009): own token revoked; unknown token 200; another client’s token refused', async (t, s) => {
  const mine = await issue(s, 'a')
  const theirs = await issue(s, 'b')
  const revoke = (token: string, id: string) => call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token }, headers: basic(id, `secret-${id}`) })
  const other = await revoke(theirs, 'a')
  t.equal(other.status, 400)
  t.equal(other.body.error, 'unauthorized_client')
  t.equal((await introspect(s, { token: theirs })).body.active, true, 'still active')
  const r = await revoke(mine, 'a')
  t.equal(r.status, 200)
  t.same((await introspect(s, { token: mine })).body, { active: false })
  t.equal((await revoke(mine, 'a')).status, 200, 'revoking twice is fine')
  t.equal((await revoke('ory_at_unknown.token', 'a')).status, 200, 'unknown tokens are 200 too')
  const unauth = await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token: theirs } })
  t.same([unauth.status, unauth.body.error], [401, 'invalid_client'])
  const noToken = await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: {}, headers: basic('a', 'secret-a') })
  t.same([noToken.status, noToken.body.error], [400, 'invalid_request'])
})

forEachStore(t, 'DELETE /admin/oauth2/tokens?client_id= revokes all of a client’s tokens', async (t, s) => {
  const one = await issue(s, 'a')
  const r2 = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('a', 'secret-a') })
  const other = await issue(s, 'b')
  const del = await call('DELETE', `${s.adminUrl}/admin/oauth2/tokens?client_id=a`)
  t.equal(del.status, 204)
  t.same((await introspect(s, { token: one })).body, { active: false })
  t.same((await introspect(s, { token: r2.body.access_token })).body, { active: false })
  t.equal((await introspect(s, { token: other })).body.active, true, 'other clients are untouched')
  const missing = await call('DELETE', `${s.adminUrl}/admin/oauth2/tokens`)
  t.same([missing.status, missing.body.error], [400, 'invalid_request'])
})

t.test('system secret rotation: tokens signed with an older secret still verify', async (t) => {
  const store = new MemoryStore()
  const before = await startTokenServer({ store })
  const tok = await issue(before)
  await before.close()
  const after = await startTokenServer({ store, config: { secrets: { system: ['a-brand-new-system-secret-1234', SECRET] } } })
  t.teardown(() => after.close())
  t.equal((await introspect(after, { token: tok })).body.active, true)
  const fresh = (await call('POST', `${after.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('svc', 'secret-svc') })).body.access_token
  t.equal((await introspect(after, { token: fresh })).body.active, true)
  const dropped = await startTokenServer({ store, config: { secrets: { system: ['a-brand-new-system-secret-1234'] } } })
  t.teardown(() => dropped.close())
  t.same((await introspect(dropped, { token: tok })).body, { active: false }, 'once the old secret is removed, its tokens are gone')
})
