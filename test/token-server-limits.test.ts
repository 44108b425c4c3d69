import t from 'tap'
import type { Agent } from 'undici'
import { FailureLimiter } from '../src/token-server/rate-limit.js'
import { basic, call, fromAddress, startTokenServer } from './helpers/token-server.js'
import { until } from './helpers/wait.js'

t.test('failed client authentications are limited per client id (429 + Retry-After); a known-good secret is never slowed', async (t) => {
  // A window long enough that a busy machine makes the calls below well within it.
  const windowS = 3
  const s = await startTokenServer({ config: { oauth2: { client_auth_limits: { per_client: 3, per_address: 1000, window: `${windowS}s` } } } })
  t.teardown(() => s.close())
  await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: 'svc', client_secret: 'right-secret', grant_types: ['client_credentials'] } })
  const token = (secret: string, id = 'svc') => call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic(id, secret) })
  t.equal((await token('right-secret')).status, 200, 'the owner authenticates once (now known good)')
  t.equal((await token('guess-0')).status, 401)
  // The window opened with that failure.
  const openedBy = Date.now()
  for (let i = 1; i < 3; i++) t.equal((await token(`guess-${i}`)).status, 401)
  const limited = await token('guess-3')
  t.equal(limited.status, 429)
  t.equal(limited.body.error, 'too_many_requests')
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= windowS, `Retry-After: the seconds left in the window (${retryAfter})`)
  t.equal((await token('right-secret')).status, 200, 'the owner is not locked out')
  t.equal((await token('guess-4', 'other-id')).status, 401, 'other client ids are not affected')
  await until(() => Date.now() > openedBy + windowS * 1000, 'the window to end')
  t.equal((await token('guess-5')).status, 401, 'a new window: back to 401')
})

t.test('an attacker who knows a client id cannot lock its owner out, even when the owner\'s secret is not verified yet', async (t) => {
  // A fresh server: the owner's secret is not in the verified-secret cache (as after a restart,
  // or on another instance). The attacker (127.0.0.2) and the owner (127.0.0.3) are two addresses.
  const s = await startTokenServer({ config: { oauth2: { client_auth_limits: { per_client: 3, per_address: 1000, window: '1m' } } } })
  const attacker = fromAddress('127.0.0.2')
  const owner = fromAddress('127.0.0.3')
  t.teardown(async () => {
    await attacker.close()
    await owner.close()
    await s.close()
  })
  await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: 'x', client_secret: 'owner-secret', grant_types: ['client_credentials'] } })
  const token = (secret: string, dispatcher: Agent) =>
    call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('x', secret), dispatcher })
  const statuses = []
  for (let i = 0; i < 5; i++) statuses.push((await token(`guess-${i}`, attacker)).status)
  t.same(statuses, [401, 401, 401, 429, 429], 'the attacker is limited')
  const mine = await token('owner-secret', owner)
  t.equal(mine.status, 200, 'the owner, from another address, still gets a token')
  t.type(mine.body.access_token, 'string')
  t.equal((await token('guess-5', owner)).status, 401, 'a wrong secret from the owner\'s address counts in its own window')
  const still = await token('guess-6', attacker)
  t.equal(still.status, 429, 'the attacker is still refused')
  t.equal(still.body.error, 'too_many_requests')
  t.equal((await token('owner-secret', attacker)).status, 200, 'a secret verified once is never slowed, from anywhere')
})

t.test('…and per source address, whatever client ids it tries', async (t) => {
  const s = await startTokenServer({ config: { oauth2: { client_auth_limits: { per_client: 1000, per_address: 4, window: '1m' } } } })
  t.teardown(() => s.close())
  const statuses = []
  for (let i = 0; i < 6; i++) {
    statuses.push((await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic(`id-${i}`, 'x') })).status)
  }
  t.same(statuses, [401, 401, 401, 401, 429, 429])
  const revoke = await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token: 'x' }, headers: basic('id-9', 'x') })
  t.equal(revoke.status, 429, 'the revocation endpoint authenticates clients too')
})

t.test('FailureLimiter: fixed windows, both keys, bounded memory', async (t) => {
  let now = 0
  const l = new FailureLimiter({ perClient: 2, perAddress: 3, windowMs: 10_000 }, 2, () => now)
  l.fail('a', '1.1.1.1')
  t.equal(l.retryAfter('a', '1.1.1.1'), 0)
  l.fail('a', '1.1.1.1')
  t.equal(l.retryAfter('a', '1.1.1.1'), 10, 'client over its limit from that address')
  t.equal(l.retryAfter('a', '2.2.2.2'), 0, '…but not from another address')
  t.equal(l.retryAfter('b', '1.1.1.1'), 0, '…nor another client from that address')
  l.fail('b', '1.1.1.1')
  t.equal(l.retryAfter('c', '1.1.1.1'), 10, 'the address over its limit, whatever the client')
  now = 4_000
  t.equal(l.retryAfter('a', '1.1.1.1'), 6)
  now = 10_000
  t.equal(l.retryAfter('a', '1.1.1.1'), 0, 'window over')
  l.fail('b', '3.3.3.3')
  l.fail('c', '4.4.4.4')
  t.equal(l.retryAfter('a', '1.1.1.1'), 0, 'old windows are dropped past maxKeys')
})

t.test('serve.admin.auth.api_keys: admin calls need a listed bearer key; health stays open; public API unaffected', async (t) => {
  const s = await startTokenServer({ config: { serve: { admin: { auth: { api_keys: ['first-admin-key-0123456789', 'second-admin-key-0123456789'] } } } } })
  t.teardown(() => s.close())
  const none = await call('GET', `${s.adminUrl}/admin/clients`)
  t.equal(none.status, 401)
  t.equal(none.headers['www-authenticate'], 'Bearer realm="gatehouse-admin"')
  t.equal((await call('GET', `${s.adminUrl}/admin/clients`, { headers: { authorization: 'Bearer wrong-key-0123456789' } })).status, 401)
  t.equal((await call('GET', `${s.adminUrl}/admin/clients`, { headers: { authorization: 'Bearer ' } })).status, 401)
  t.equal((await call('GET', `${s.adminUrl}/admin/clients`, { headers: { authorization: 'Bearer second-admin-key-0123456789' } })).status, 200)
  const created = await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: 'x', client_secret: 'secret-x', grant_types: ['client_credentials'] }, headers: { authorization: 'bearer first-admin-key-0123456789' } })
  t.equal(created.status, 201)
  t.equal((await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: 'x' } })).status, 401, 'introspection is an admin call too')
  t.equal((await call('GET', `${s.adminUrl}/health/ready`)).status, 200, 'probes need no key')
  t.equal((await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('x', 'secret-x') })).status, 200)
})

t.test('a warning is logged when the admin API listens beyond loopback without keys', async (t) => {
  const { Writable } = await import('node:stream')
  const { createLogger } = await import('../src/observability/logger.js')
  const { buildConfigFor } = await import('../src/config/load.js')
  const { TOKEN_SERVER_CONFIG } = await import('../src/token-server/config.js')
  const { createTokenServer } = await import('../src/token-server/server.js')
  const { MemoryStore } = await import('../src/token-server/store/memory.js')
  const lines: string[] = []
  const sink = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) })
  const config = buildConfigFor(TOKEN_SERVER_CONFIG, { serve: { admin: { host: '', port: 0 }, public: { host: '127.0.0.1', port: 0 } }, secrets: { system: ['0123456789abcdef0123'] } }, {})
  const server = createTokenServer(config, new MemoryStore(), createLogger({ level: 'warn', format: 'json' }, sink))
  await server.start('admin')
  await server.close()
  t.match(lines.join(''), /the admin API listens beyond this machine without authentication/)
})
