// The OidcRecords contract (src/token-server/oidc/records.ts), run over every store: memory,
// SQLite (a file with its writes on the loop's connection, a file with the writer thread a
// serving token server uses, `:memory:`) and Postgres (a unique, migrated schema).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import type { OidcModel, OidcRecord } from '../src/token-server/oidc/records.js'
import { openStore } from '../src/token-server/store/open.js'
import { SqliteStore } from '../src/token-server/store/sqlite.js'
import { StoreUnavailableError, type ClientRecord, type Store } from '../src/token-server/store/types.js'
import { STORE_KINDS, storeSelection, type OpenedStore, type StoreKind } from './helpers/stores.js'

const NOW = 1_767_225_600 // seconds; the stores compare against the `now` they are given, never the clock

/** The store kinds of token-store.test.ts, plus a SQLite file written through the writer thread. */
const KINDS: readonly StoreKind[] = [
  ...STORE_KINDS,
  {
    name: 'sqlite file, writer thread',
    sql: true,
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-oidc-'))
      const dsn = `sqlite://${join(dir, 'store.sqlite')}`
      return { store: openStore(dsn, { writerThread: true }), dsn, cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
    },
  },
]

/** One subtest per store kind, each on a fresh migrated store (see forEachKind in helpers/stores.ts). */
function eachStore(title: string, fn: (t: Test, store: Store, opened: OpenedStore, kind: StoreKind) => Promise<void>, only?: (k: StoreKind) => boolean): void {
  const leftOut = storeSelection()
  for (const kind of KINDS) {
    if (only !== undefined && !only(kind)) continue
    const skip = leftOut(kind.name)
    t.test(`${title} [${kind.name}]`, skip === undefined ? {} : { skip }, async (t) => {
      const opened = await kind.open()
      t.teardown(async () => {
        await opened.store.close()
        await opened.cleanup()
      })
      await opened.store.migrate()
      await fn(t, opened.store, opened, kind)
    })
  }
}

/** Stores a second process (or pool) could share: a file or a server, not `:memory:`. */
const shared = (k: StoreKind): boolean => k.name !== 'memory' && k.name !== 'sqlite memory'

function record(model: OidcModel, id: string, over: Partial<OidcRecord> = {}): OidcRecord {
  return {
    model,
    id,
    payload: { client: { id: 'app', redirect_uris: ['https://app.test/cb'] }, context: { n: 1, deep: [true, null, 'ü'] } },
    expires_at: NOW + 600,
    ...over,
  }
}

const ids = (rs: readonly OidcRecord[]): string[] => rs.map((r) => r.id)
const sortedIds = (rs: readonly OidcRecord[]): string[] => ids(rs).sort()

eachStore('upsert stores every field; upsert again replaces the record; models are separate key spaces', async (t, store) => {
  const full = record('consent_request', 'c1', {
    grant_id: 'g1',
    subject: 'alice',
    client_id: 'app',
    sid: 's1',
    // A NUL and a lone surrogate in a string: JSON's escapes, kept as written.
    payload: { context: { odd: 'a\u0000b\ud800', big: 2 ** 53 - 1, nested: { list: [1, 'two', { three: 3 }] } } },
  })
  await store.oidc.upsert(full)
  t.same(await store.oidc.find('consent_request', 'c1', NOW), full, 'round trip of every field')
  t.equal(await store.oidc.find('login_request', 'c1', NOW), undefined, 'the same id in another model is another record')

  const replaced = record('consent_request', 'c1', { subject: 'bob', expires_at: NOW + 60, consumed_at: NOW - 1 })
  await store.oidc.upsert(replaced)
  const back = await store.oidc.find('consent_request', 'c1', NOW)
  t.same(back, replaced, 'replaced whole')
  t.equal(back?.grant_id, undefined, 'a field the new record leaves out is gone')
  t.equal(back?.sid, undefined)
  t.same(await store.oidc.findBy('consent_request', { client_id: 'app' }, NOW), [], 'the old indexed fields select it no more')
})

eachStore('find: an expired record is absent (expires_at <= now), consumed or not', async (t, store) => {
  await store.oidc.upsert(record('auth_code', 'live', { expires_at: NOW + 1 }))
  await store.oidc.upsert(record('auth_code', 'edge', { expires_at: NOW }))
  await store.oidc.upsert(record('auth_code', 'used', { expires_at: NOW - 5, consumed_at: NOW - 10 }))
  t.ok(await store.oidc.find('auth_code', 'live', NOW))
  t.equal(await store.oidc.find('auth_code', 'live', NOW + 1), undefined, 'at expires_at it is gone')
  t.equal(await store.oidc.find('auth_code', 'edge', NOW), undefined)
  t.equal(await store.oidc.find('auth_code', 'used', NOW), undefined)
  t.equal(await store.oidc.find('auth_code', 'nope', NOW), undefined)
})

eachStore('consume: first once, then again with the stored record; missing when absent or expired', async (t, store) => {
  const code = record('auth_code', 'code', { grant_id: 'g', client_id: 'app', subject: 'alice' })
  await store.oidc.upsert(code)
  t.same(await store.oidc.consume('auth_code', 'code', NOW), { status: 'first', record: { ...code, consumed_at: NOW } })
  t.same(await store.oidc.consume('auth_code', 'code', NOW + 5), { status: 'again', record: { ...code, consumed_at: NOW } }, 'a replay keeps the first consumed_at')
  t.same(await store.oidc.find('auth_code', 'code', NOW + 5), { ...code, consumed_at: NOW }, 'find sees it consumed')
  t.same(await store.oidc.consume('auth_code', 'nope', NOW), { status: 'missing' })
  t.same(await store.oidc.consume('refresh_token', 'code', NOW), { status: 'missing' }, 'another model')
  t.same(await store.oidc.consume('auth_code', 'code', code.expires_at), { status: 'missing' }, 'consumed, then expired')

  await store.oidc.upsert(record('verifier', 'late', { expires_at: NOW }))
  t.same(await store.oidc.consume('verifier', 'late', NOW), { status: 'missing' }, 'expired before use')
  t.equal(await store.oidc.find('verifier', 'late', NOW - 1).then((r) => r?.consumed_at), undefined, 'an expired record is not marked')

  await store.oidc.upsert(code)
  t.equal((await store.oidc.consume('auth_code', 'code', NOW + 7)).status, 'first', 'an upsert without consumed_at makes it unused again')
})

eachStore('consume: of 50 concurrent calls on one store exactly one is first', async (t, store) => {
  await store.oidc.upsert(record('login_request', 'challenge'))
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.oidc.consume('login_request', 'challenge', NOW + (i % 3))))
  const first = results.filter((r) => r.status === 'first')
  t.equal(first.length, 1, 'one first')
  t.equal(results.filter((r) => r.status === 'again').length, 49, 'the others are replays')
  const at = first[0]?.status === 'first' ? first[0].record.consumed_at : undefined
  t.ok(results.every((r) => r.status !== 'missing' && r.record.consumed_at === at), 'every answer carries the first consumed_at')
})

eachStore(
  'consume: two stores on the same database (separate connections, pools or writer threads): one first per record',
  async (t, store, opened) => {
    const other = opened.store.kind === 'sqlite' ? new SqliteStore(sqliteFile(opened.dsn), { writerThread: true }) : openStore(opened.dsn)
    t.teardown(() => other.close())
    const records = Array.from({ length: 10 }, (_, i) => record('refresh_token', `rt-${i}`))
    for (const r of records) await store.oidc.upsert(r)
    // Interleaved: each record is raced by 5 calls through each store.
    const calls = records.flatMap((r) => Array.from({ length: 10 }, (_, i) => ({ id: r.id, via: i % 2 === 0 ? store : other })))
    const results = await Promise.all(calls.map(async (c) => ({ id: c.id, status: (await c.via.oidc.consume('refresh_token', c.id, NOW)).status })))
    for (const r of records) {
      const of = results.filter((x) => x.id === r.id)
      t.equal(of.filter((x) => x.status === 'first').length, 1, `${r.id}: one first`)
      t.equal(of.filter((x) => x.status === 'again').length, 9, `${r.id}: nine replays`)
    }
  },
  shared,
)

eachStore('findBy: each selector field, and fields together; unexpired only, of the model, oldest first', async (t, store) => {
  const rows: OidcRecord[] = [
    record('consent_session', 'a', { subject: 'alice', client_id: 'app', sid: 's1', grant_id: 'g1' }),
    record('consent_session', 'b', { subject: 'alice', client_id: 'other', sid: 's2', grant_id: 'g2' }),
    record('consent_session', 'c', { subject: 'bob', client_id: 'app', sid: 's1', grant_id: 'g3' }),
    record('consent_session', 'old', { subject: 'alice', client_id: 'app', sid: 's1', grant_id: 'g1', expires_at: NOW }),
    record('login_session', 'a', { subject: 'alice', sid: 's1' }),
    record('consent_session', 'd', { subject: 'alice', client_id: 'app', grant_id: 'g1' }),
  ]
  for (const r of rows) await store.oidc.upsert(r)
  const find = async (s: Parameters<Store['oidc']['findBy']>[1]): Promise<string[]> => ids(await store.oidc.findBy('consent_session', s, NOW))
  t.same(await find({ subject: 'alice' }), ['a', 'b', 'd'], 'subject; the expired one and the other model left out')
  t.same(await find({ client_id: 'app' }), ['a', 'c', 'd'], 'client_id')
  t.same(await find({ sid: 's1' }), ['a', 'c'], 'sid')
  t.same(await find({ grant_id: 'g1' }), ['a', 'd'], 'grant_id')
  t.same(await find({ subject: 'alice', client_id: 'app' }), ['a', 'd'], 'subject and client_id')
  t.same(await find({ subject: 'alice', client_id: 'app', sid: 's1', grant_id: 'g1' }), ['a'], 'every field')
  t.same(await find({ subject: 'nobody' }), [])
  t.same(ids(await store.oidc.findBy('login_session', { subject: 'alice' }, NOW)), ['a'])
  t.same(await store.oidc.findBy('consent_session', { grant_id: 'g2' }, NOW), [rows[1]], 'whole records')

  await store.oidc.upsert({ ...rows[0]!, payload: { again: true } })
  t.same(await find({ subject: 'alice' }), ['b', 'd', 'a'], 'a replaced record is the newest')
  t.same(await find({ subject: 'alice', client_id: 'app' }), ['d', 'a'])
})

eachStore('destroyBy: each selector field deletes the matching records of the model and returns them', async (t, store) => {
  const rows: OidcRecord[] = [
    record('consent_session', 'a', { subject: 'alice', client_id: 'app', sid: 's1', grant_id: 'g1' }),
    record('consent_session', 'b', { subject: 'alice', client_id: 'other', sid: 's2', grant_id: 'g2' }),
    record('consent_session', 'c', { subject: 'bob', client_id: 'app', sid: 's3', grant_id: 'g3' }),
    record('consent_session', 'd', { subject: 'carol', client_id: 'x', sid: 's4', grant_id: 'g4', expires_at: NOW - 100 }),
    record('consent_session', 'e', { subject: 'dave', client_id: 'y', sid: 's5', grant_id: 'g5' }),
    record('login_session', 'a', { subject: 'alice', sid: 's1' }),
  ]
  for (const r of rows) await store.oidc.upsert(r)
  const gone = await store.oidc.destroyBy('consent_session', { subject: 'alice', client_id: 'other' })
  t.same(gone, [rows[1]], 'both fields must match; the deleted records come back')
  t.same(sortedIds(await store.oidc.destroyBy('consent_session', { client_id: 'app' })), ['a', 'c'], 'client_id')
  t.same(ids(await store.oidc.destroyBy('consent_session', { sid: 's4' })), ['d'], 'sid; expired records too')
  t.same(ids(await store.oidc.destroyBy('consent_session', { grant_id: 'g5' })), ['e'], 'grant_id')
  t.same(await store.oidc.destroyBy('consent_session', { subject: 'alice' }), [], 'nothing left to match')
  t.ok(await store.oidc.find('login_session', 'a', NOW), 'another model is untouched')
  t.same(ids(await store.oidc.destroyBy('login_session', { subject: 'alice' })), ['a'], 'subject')
  t.equal(await store.oidc.find('login_session', 'a', NOW), undefined)
})

eachStore('a selector with no field is refused, and nothing is deleted', async (t, store) => {
  await store.oidc.upsert(record('consent_session', 'a', { subject: 'alice' }))
  await t.rejects(store.oidc.findBy('consent_session', {}, NOW), /at least one field/)
  await t.rejects(store.oidc.destroyBy('consent_session', {}), /at least one field/)
  const undef = { subject: undefined } as unknown as { subject: string }
  await t.rejects(store.oidc.destroyBy('consent_session', undef), /at least one field/, 'a field given as undefined is no field')
  t.ok(await store.oidc.find('consent_session', 'a', NOW))
})

eachStore('destroy deletes one record; revokeByGrantId deletes a grant across models', async (t, store) => {
  await store.oidc.upsert(record('auth_code', 'code', { grant_id: 'g1' }))
  await store.oidc.upsert(record('refresh_token', 'rt1', { grant_id: 'g1', consumed_at: NOW }))
  await store.oidc.upsert(record('refresh_token', 'rt2', { grant_id: 'g1', expires_at: NOW - 1 }))
  await store.oidc.upsert(record('consent_session', 'cs', { grant_id: 'g1' }))
  await store.oidc.upsert(record('refresh_token', 'rt3', { grant_id: 'g2' }))
  await store.oidc.upsert(record('login_session', 'ls'))
  t.equal(await store.oidc.revokeByGrantId('g1'), 4, 'every model, consumed and expired ones too')
  t.equal(await store.oidc.revokeByGrantId('g1'), 0)
  for (const [m, id] of [['auth_code', 'code'], ['refresh_token', 'rt1'], ['consent_session', 'cs']] as const) {
    t.equal(await store.oidc.find(m, id, NOW), undefined, `${m} ${id} gone`)
  }
  t.ok(await store.oidc.find('refresh_token', 'rt3', NOW), 'another grant stays')
  t.equal(await store.oidc.destroy('login_session', 'ls'), true)
  t.equal(await store.oidc.destroy('login_session', 'ls'), false)
  t.equal(await store.oidc.destroy('refresh_token', 'nope'), false)
})

eachStore('purgeExpired deletes expired records of every model, at most `limit` per call', async (t, store) => {
  const models: OidcModel[] = ['login_request', 'consent_request', 'logout_request', 'verifier', 'login_session']
  for (const [i, m] of models.entries()) await store.oidc.upsert(record(m, `old-${i}`, { expires_at: NOW - i, consumed_at: NOW - 100 }))
  await store.oidc.upsert(record('auth_code', 'edge', { expires_at: NOW + 1 }))
  await store.oidc.upsert(record('refresh_token', 'live', { expires_at: NOW + 100 }))
  t.equal(await store.oidc.purgeExpired(NOW, 2), 2)
  t.equal(await store.oidc.purgeExpired(NOW, 100), 3)
  t.equal(await store.oidc.purgeExpired(NOW, 100), 0)
  t.ok(await store.oidc.find('auth_code', 'edge', NOW), 'not yet expired')
  t.equal(await store.oidc.purgeExpired(NOW + 1, 100), 1, 'expires_at == now counts as expired')
  t.ok(await store.oidc.find('refresh_token', 'live', NOW + 1))
  // Purged, not merely hidden: a record with a later expiry under the same key starts afresh.
  await store.oidc.upsert(record('verifier', 'old-3', { expires_at: NOW + 50 }))
  t.equal((await store.oidc.consume('verifier', 'old-3', NOW)).status, 'first')
})

eachStore('deleteClient deletes the client’s records of every model; nothing when the client did not exist', async (t, store) => {
  await store.createClient(client('app'))
  await store.createClient(client('other'))
  await store.oidc.upsert(record('login_request', 'lr', { client_id: 'app' }))
  await store.oidc.upsert(record('consent_session', 'cs', { client_id: 'app', subject: 'alice' }))
  await store.oidc.upsert(record('refresh_token', 'rt', { client_id: 'app', expires_at: NOW - 1 }))
  await store.oidc.upsert(record('auth_code', 'ac', { client_id: 'other' }))
  await store.oidc.upsert(record('login_session', 'ls', { subject: 'alice' }))
  await store.oidc.upsert(record('auth_code', 'ghost', { client_id: 'ghost' }))
  t.equal(await store.deleteClient('app'), true)
  t.equal(await store.oidc.find('login_request', 'lr', NOW), undefined)
  t.same(await store.oidc.findBy('consent_session', { subject: 'alice' }, NOW), [])
  t.equal(await store.oidc.revokeByGrantId('none'), 0)
  t.equal(await store.oidc.purgeExpired(NOW + 10_000, 100), 3, 'only the other client’s, the session and the ghost’s remain')
  t.equal(await store.deleteClient('ghost'), false)
})

eachStore(
  'migration 5 down drops the table (the store says it is not migrated); up creates it again',
  async (t, store) => {
    await store.oidc.upsert(record('auth_code', 'a'))
    t.equal(await store.rollback(1), 1)
    await t.rejects(store.oidc.find('auth_code', 'a', NOW), { name: 'StoreUnavailableError', message: /not migrated.*migrate sql/ })
    await t.rejects(store.oidc.upsert(record('auth_code', 'b')), StoreUnavailableError)
    await t.rejects(store.oidc.consume('auth_code', 'a', NOW), StoreUnavailableError)
    t.ok(await store.getClient('x').then(() => true), 'the tables of migrations 1–4 are still there')
    t.equal(await store.migrate(), 1)
    t.equal(await store.oidc.find('auth_code', 'a', NOW), undefined, 'the records went with the table')
    await store.oidc.upsert(record('auth_code', 'b', { grant_id: 'g' }))
    t.equal((await store.oidc.consume('auth_code', 'b', NOW)).status, 'first')
    t.equal(await store.oidc.revokeByGrantId('g'), 1)
  },
  (k) => k.sql,
)

eachStore(
  'what resolved is visible from a new connection after close (upsert, consume, destroy)',
  async (t, store, opened) => {
    await store.oidc.upsert(record('refresh_token', 'kept', { grant_id: 'g' }))
    await store.oidc.upsert(record('refresh_token', 'gone'))
    t.equal((await store.oidc.consume('refresh_token', 'kept', NOW)).status, 'first')
    t.equal(await store.oidc.destroy('refresh_token', 'gone'), true)
    await store.close()
    const again = openStore(opened.dsn)
    t.teardown(() => again.close())
    t.same(await again.oidc.find('refresh_token', 'kept', NOW), record('refresh_token', 'kept', { grant_id: 'g', consumed_at: NOW }))
    t.equal(await again.oidc.find('refresh_token', 'gone', NOW), undefined)
    t.equal((await again.oidc.consume('refresh_token', 'kept', NOW)).status, 'again')
  },
  shared,
)

const WRITER = fileURLToPath(new URL('./helpers/oidc-writer.ts', import.meta.url))
// The TypeScript loader tap runs this file with, so the child can run a .ts file too.
const LOADER = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))

t.test('sqlite: every record whose upsert or consume resolved survives kill -9 of the writer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-oidc-kill-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'store.sqlite')
  const lines = await new Promise<string[]>((resolve, reject) => {
    const child = spawn(process.execPath, [...LOADER, WRITER, file], { stdio: ['ignore', 'pipe', 'pipe'] })
    const out: string[] = []
    let partial = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.stdout.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n')
      partial = parts.pop() ?? ''
      out.push(...parts)
      // Killed while bursts are still being written.
      if (out.length >= 600) child.kill('SIGKILL')
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (_code, signal) => {
      clearTimeout(timer)
      if (signal !== 'SIGKILL' || out.length < 600) reject(new Error(`writer ended early (${signal}): ${stderr}`))
      else resolve(out)
    })
  })
  const store = new SqliteStore(file)
  t.teardown(() => store.close())
  let lost = 0
  for (const line of lines) {
    const [what, id] = line.split(' ') as [string, string]
    const r = await store.oidc.find('auth_code', id, NOW)
    if (r === undefined || (what === 'consumed' && r.consumed_at !== NOW)) lost++
  }
  t.equal(lost, 0, `all ${lines.length} acknowledged writes are in the file`)
})

function client(id: string): ClientRecord {
  return { client_id: id, secret_hash: null, client_name: id, owner: '', data: {}, created_at: 1, updated_at: 1 }
}

/** The file of a `sqlite://` DSN of the store kinds above. */
function sqliteFile(dsn: string): string {
  return dsn.slice('sqlite://'.length).replace(/\?.*$/, '')
}
