import t from 'tap'
import { openStore } from '../src/token-server/store/open.js'
import {
  DuplicateClientError,
  StoreUnavailableError,
  type ClientRecord,
  type KeyRecord,
  type Store,
  type TokenRecord,
} from '../src/token-server/store/types.js'
import { adminQuery, forEachKind, postgresDsn } from './helpers/stores.js'
import { until } from './helpers/wait.js'

const NOW_MS = 1_767_225_600_123 // beyond 2^32: timestamps must not be truncated to 32 bits
const NOW_S = Math.floor(NOW_MS / 1000)

function client(id: string, over: Partial<ClientRecord> = {}): ClientRecord {
  return {
    client_id: id,
    secret_hash: '$pbkdf2-sha256$i=1000,l=32$c2FsdA$aGFzaA',
    client_name: `name of ${id}`,
    owner: 'team-a',
    data: { grant_types: ['client_credentials'], scope: 'read write', metadata: { nested: { n: 1, ok: true, none: null } }, audience: [] },
    created_at: NOW_MS,
    updated_at: NOW_MS + 1,
    ...over,
  }
}

function token(hash: string, over: Partial<TokenRecord> = {}): TokenRecord {
  return {
    signature_hash: hash,
    grant_id: `grant-of-${hash}`,
    token_use: 'access_token',
    client_id: 'svc',
    subject: 'svc',
    scope: ['read', 'write'],
    audience: ['https://api.test'],
    strategy: 'opaque',
    issued_at: NOW_S,
    expires_at: NOW_S + 3600,
    ext: { tenant: 'ü-ñ', n: [1, 2] },
    ...over,
  }
}

function key(set: string, kid: string, createdAt: number): KeyRecord {
  return {
    set,
    kid,
    private_jwk: { kty: 'OKP', crv: 'Ed25519', kid, x: 'pub', d: 'secret', alg: 'EdDSA', use: 'sig' },
    public_jwk: { kty: 'OKP', crv: 'Ed25519', kid, x: 'pub', alg: 'EdDSA', use: 'sig' },
    created_at: createdAt,
  }
}

const ids = (cs: readonly ClientRecord[]): string[] => cs.map((c) => c.client_id)

forEachKind(
  t,
  'migrationStatus before and after migrate; migrating twice is a no-op',
  async (t, store, _opened, kind) => {
    const before = await store.migrationStatus()
    t.equal(before.applied, 0, 'nothing applied on a fresh database')
    if (kind.sql) t.ok(before.latest > 0)
    const n = await store.migrate()
    t.equal(n, before.latest, 'every migration applied')
    t.same(await store.migrationStatus(), { applied: before.latest, latest: before.latest })
    t.equal(await store.migrate(), 0, 'second run applies nothing')
    t.same(await store.migrationStatus(), { applied: before.latest, latest: before.latest })
  },
  { migrate: false },
)

forEachKind(
  t,
  'a store that is not migrated fails clearly, naming the migrate command',
  async (t, store) => {
    await t.rejects(store.getClient('x'), { name: 'StoreUnavailableError', message: /not migrated.*migrate sql/ })
    await t.rejects(store.insertToken(token('h')), StoreUnavailableError)
  },
  { migrate: false, kinds: (k) => k.sql },
)

forEachKind(t, 'clients: create, get, duplicate → DuplicateClientError', async (t, store) => {
  const c = client('svc')
  await store.createClient(c)
  await store.createClient(client('public', { secret_hash: null }))
  t.same(await store.getClient('svc'), c, 'round trip keeps every field and the JSON data')
  t.equal((await store.getClient('public'))?.secret_hash, null)
  t.equal(await store.getClient('nope'), undefined)
  const err = await store.createClient(client('svc', { client_name: 'other' })).catch((e: unknown) => e)
  t.type(err, DuplicateClientError)
  t.equal((err as DuplicateClientError).clientId, 'svc')
  t.equal((await store.getClient('svc'))?.client_name, c.client_name, 'the duplicate changed nothing')
})

forEachKind(t, 'clients: list orders by binary client_id, pages with limit + after, filters by name and owner', async (t, store) => {
  // Binary order: '-' < digits < upper case < '_' < lower case < non-ASCII; a locale collation differs.
  const all = ['b', 'a', 'B', 'a-2', 'a1', '_x', 'Z', 'é', 'z']
  for (const [i, id] of all.entries()) {
    await store.createClient(client(id, { owner: i % 2 === 0 ? 'even' : 'odd', client_name: id.length === 1 ? 'short' : 'long' }))
  }
  const sorted = [...all].sort()
  t.same(ids(await store.listClients({ limit: 100 })), sorted)
  t.same(ids(await store.listClients({ limit: 3 })), sorted.slice(0, 3))
  t.same(ids(await store.listClients({ limit: 0 })), [])

  const pages: string[][] = []
  let after: string | undefined
  for (;;) {
    const page = await store.listClients({ limit: 4, ...(after === undefined ? {} : { after }) })
    if (page.length === 0) break
    pages.push(ids(page))
    after = page[page.length - 1]!.client_id
  }
  t.same(pages, [sorted.slice(0, 4), sorted.slice(4, 8), sorted.slice(8)], 'keyset pages cover everything once')
  t.same(ids(await store.listClients({ limit: 10, after: 'a' })), sorted.filter((id) => id > 'a'), 'after an id that exists')
  t.same(ids(await store.listClients({ limit: 10, after: 'a0' })), sorted.filter((id) => id > 'a0'), 'after an id that does not')

  const even = all.filter((_, i) => i % 2 === 0).sort()
  t.same(ids(await store.listClients({ limit: 10, owner: 'even' })), even)
  t.same(ids(await store.listClients({ limit: 10, client_name: 'long' })), ['a-2', 'a1', '_x'].sort())
  t.same(ids(await store.listClients({ limit: 10, client_name: 'short', owner: 'odd' })), ['a', 'é'])
  t.same(ids(await store.listClients({ limit: 1, owner: 'even', after: even[0]! })), [even[1]!], 'filters combine with paging')
  t.same(await store.listClients({ limit: 10, owner: 'nobody' }), [])
})

forEachKind(t, 'clients: update replaces the record; unknown → false', async (t, store) => {
  await store.createClient(client('svc'))
  const changed = client('svc', { secret_hash: null, client_name: 'renamed', owner: 'team-b', data: { scope: 'x' }, updated_at: NOW_MS + 5000 })
  t.equal(await store.updateClient(changed), true)
  t.same(await store.getClient('svc'), changed)
  t.same(await store.listClients({ limit: 10, owner: 'team-b' }), [changed], 'the owner index follows the update')
  t.equal(await store.updateClient(client('nope')), false)
  t.equal(await store.getClient('nope'), undefined, 'update does not create')
})

forEachKind(t, 'clients: delete removes the client and its tokens only', async (t, store) => {
  await store.createClient(client('svc'))
  await store.createClient(client('other'))
  await store.insertToken(token('t1'))
  await store.insertToken(token('t2'))
  await store.insertToken(token('t3', { client_id: 'other' }))
  t.equal(await store.deleteClient('svc'), true)
  t.equal(await store.getClient('svc'), undefined)
  t.equal(await store.getToken('t1'), undefined)
  t.equal(await store.getToken('t2'), undefined)
  t.ok(await store.getToken('t3'), "another client's token stays")
  t.ok(await store.getClient('other'))
  t.equal(await store.deleteClient('svc'), false, 'already gone')
})

forEachKind(t, 'tokens: insert, get, delete one, delete a client’s', async (t, store) => {
  const a = token('a'.repeat(64), { strategy: 'jwt', scope: [], audience: [], ext: {} })
  const b = token('b'.repeat(64))
  await store.insertToken(a)
  await store.insertToken(b)
  await store.insertToken(token('c', { client_id: 'other' }))
  t.same(await store.getToken(a.signature_hash), a)
  t.same(await store.getToken(b.signature_hash), b, 'arrays, nested ext and timestamps round-trip')
  t.equal(await store.getToken('nope'), undefined)
  t.equal(await store.deleteToken(a.signature_hash), true)
  t.equal(await store.deleteToken(a.signature_hash), false)
  t.equal(await store.getToken(a.signature_hash), undefined)
  await store.insertToken(token('d'))
  t.equal(await store.deleteTokensOfClient('svc'), 2)
  t.equal(await store.deleteTokensOfClient('svc'), 0)
  t.ok(await store.getToken('c'), "another client's token stays")
})

forEachKind(t, 'tokens: purge deletes only expired ones, at most `limit` per call', async (t, store) => {
  for (let i = 0; i < 5; i++) await store.insertToken(token(`old${i}`, { expires_at: NOW_S - i }))
  await store.insertToken(token('edge', { expires_at: NOW_S + 1 }))
  for (let i = 0; i < 3; i++) await store.insertToken(token(`live${i}`, { expires_at: NOW_S + 100 }))
  t.equal(await store.purgeExpiredTokens(NOW_S, 2), 2)
  t.equal(await store.purgeExpiredTokens(NOW_S, 100), 3)
  t.equal(await store.purgeExpiredTokens(NOW_S, 100), 0)
  for (let i = 0; i < 5; i++) t.equal(await store.getToken(`old${i}`), undefined)
  t.ok(await store.getToken('edge'), 'not yet expired')
  t.equal(await store.purgeExpiredTokens(NOW_S + 1, 100), 1, 'expires_at == now counts as expired')
  for (let i = 0; i < 3; i++) t.ok(await store.getToken(`live${i}`))
})

forEachKind(t, 'tokens: concurrent inserts (one group commit) all resolve and are all readable', async (t, store) => {
  const tokens = Array.from({ length: 500 }, (_, i) => token(`g${i}`, { client_id: `c${i % 7}` }))
  await Promise.all(tokens.map((tk) => store.insertToken(tk)))
  const back = await Promise.all(tokens.map((tk) => store.getToken(tk.signature_hash)))
  t.same(back, tokens)
  t.equal(await store.deleteTokensOfClient('c0'), tokens.filter((tk) => tk.client_id === 'c0').length)
})

forEachKind(
  t,
  'tokens: a duplicate signature_hash fails alone; the inserts around it commit',
  async (t, store) => {
    await store.insertToken(token('dup'))
    const results = await Promise.allSettled([store.insertToken(token('x1')), store.insertToken(token('dup', { subject: 'other' })), store.insertToken(token('x2'))])
    t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'])
    t.ok(await store.getToken('x1'))
    t.ok(await store.getToken('x2'))
    t.equal((await store.getToken('dup'))?.subject, 'svc', 'the stored token is unchanged')
  },
  { kinds: (k) => k.sql },
)

forEachKind(t, 'keys: insert, list newest first, replace by kid, delete one, delete a set', async (t, store) => {
  await store.insertKey(key('jwt', 'k1', 1000))
  await store.insertKey(key('jwt', 'k3', NOW_MS))
  await store.insertKey(key('jwt', 'k2', 2000))
  await store.insertKey(key('other', 'o1', 500))
  t.same(
    (await store.listKeys('jwt')).map((k) => k.kid),
    ['k3', 'k2', 'k1'],
  )
  t.same((await store.listKeys('jwt'))[0], key('jwt', 'k3', NOW_MS), 'both JWKs round-trip')
  await store.insertKey(key('jwt', 'k1', NOW_MS + 1))
  t.same((await store.listKeys('jwt')).map((k) => k.kid), ['k1', 'k3', 'k2'], 'the same kid again replaces it')
  t.equal(await store.deleteKeys('jwt', 'k3'), 1)
  t.equal(await store.deleteKeys('jwt', 'k3'), 0)
  t.same((await store.listKeys('jwt')).map((k) => k.kid), ['k1', 'k2'])
  t.equal(await store.deleteKeys('jwt'), 2)
  t.same(await store.listKeys('jwt'), [])
  t.equal((await store.listKeys('other')).length, 1, 'other sets untouched')
  t.same(await store.listKeys('none'), [])
  t.equal(await store.deleteKeys('none'), 0)
})

forEachKind(t, 'ping answers; close twice is fine', async (t, store) => {
  await store.ping()
  await store.close()
  await store.close()
  t.pass()
})

forEachKind(
  t,
  'data survives close and reopen',
  async (t, store, opened) => {
    await store.createClient(client('svc'))
    await store.insertToken(token('t1'))
    await store.insertKey(key('jwt', 'k1', 1))
    await store.close()
    const again = openStore(opened.dsn)
    t.teardown(() => again.close())
    const status = await again.migrationStatus()
    t.equal(status.applied, status.latest, 'still migrated')
    t.same(await again.getClient('svc'), client('svc'))
    t.same(await again.getToken('t1'), token('t1'))
    t.same(await again.listKeys('jwt'), [key('jwt', 'k1', 1)])
  },
  { kinds: (k) => k.name === 'sqlite file' || k.name === 'postgres' },
)

t.test('postgres down → StoreUnavailableError from every kind of call, without the password', async (t) => {
  const store = openStore('postgres://gatehouse:hunter2@127.0.0.1:1/test?sslmode=disable&connect_timeout=2')
  t.teardown(() => store.close())
  const calls: [string, () => Promise<unknown>][] = [
    ['migrationStatus', () => store.migrationStatus()],
    ['migrate', () => store.migrate()],
    ['getClient', () => store.getClient('x')],
    ['insertToken', () => store.insertToken(token('x'))],
    ['ping', () => store.ping()],
  ]
  for (const [name, call] of calls) {
    const err = await call().catch((e: unknown) => e)
    t.type(err, StoreUnavailableError, name)
    t.match((err as Error).message, /unavailable: .*ECONNREFUSED/, name)
    t.notMatch((err as Error).message, /hunter2/, name)
  }
})

t.test('postgres: an idle connection dying does not crash the process; the pool replaces it', async (t) => {
  const app = `gh_idle_${process.pid}`
  const store: Store = openStore(postgresDsn({ sslmode: 'disable', application_name: app }))
  t.teardown(() => store.close())
  await store.ping()
  const killed = await adminQuery('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app])
  t.equal(killed.length, 1, 'the pooled connection was terminated')
  // Terminating is a signal: the backend exits (and its client hears of it) a moment later.
  await until(async () => (await adminQuery<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app]))[0]!.n === 0, 'the backend to exit')
  // The pool drops the dead client (had it not listened for its error, the process would have crashed).
  await until(() => store.ping().then(() => true, () => false), 'a ping on a new connection')
  t.pass('still serving')
})
