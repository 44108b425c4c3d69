// The SQLite store with its writer thread (what a serving token server opens): writes run on a
// connection of their own in a worker thread, so nothing a commit waits for stops the event loop.
// The store contract itself is test/token-store.test.ts; this file checks what the thread changes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { SqliteStore } from '../src/token-server/store/sqlite.js'
import { ThreadWriter } from '../src/token-server/store/sqlite-writer.js'
import { DuplicateClientError, StoreUnavailableError, type ClientRecord, type TokenRecord } from '../src/token-server/store/types.js'

const NOW_S = Math.floor(Date.now() / 1000)

const token = (hash: string, over: Partial<TokenRecord> = {}): TokenRecord => ({
  signature_hash: hash,
  grant_id: hash,
  token_use: 'access_token',
  client_id: 'svc',
  subject: 'svc',
  scope: ['read'],
  audience: [],
  strategy: 'opaque',
  issued_at: NOW_S,
  expires_at: NOW_S + 3600,
  ext: {},
  ...over,
})

const client = (id: string, name = `name of ${id}`): ClientRecord => ({
  client_id: id,
  secret_hash: null,
  client_name: name,
  owner: '',
  data: {},
  created_at: 1,
  updated_at: 2,
})

function tempFile(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-writer-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'store.sqlite')
}

async function threadStore(t: Test, file = tempFile(t)): Promise<SqliteStore> {
  const store = new SqliteStore(file, { writerThread: true })
  t.teardown(() => store.close())
  await store.migrate()
  return store
}

/** Whether `p` has settled by the time the promises queued before this call have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending')
  return (await Promise.race([p.then(() => true, () => true), Promise.resolve(marker)])) !== marker
}

t.test('a write waiting for another connection’s lock does not stop reads: the loop goes on', async (t) => {
  const file = tempFile(t)
  const store = await threadStore(t, file)
  await store.insertToken(token('before'))

  // Another process (say `gatehouse janitor`) holds the write lock.
  const other = new Database(file)
  t.teardown(() => other.close())
  other.exec('BEGIN IMMEDIATE')
  const insert = store.insertToken(token('during'))
  // A turn of the loop: the batch is flushed. On the loop's own connection the commit would
  // wait right here for the busy timeout (5 s) and then fail.
  await new Promise((r) => setImmediate(r))
  t.ok(await store.getToken('before'), 'a read is answered while the write waits')
  t.notOk(await settled(insert), 'the write is still waiting for the lock')
  other.exec('COMMIT')
  await insert
  t.ok(await store.getToken('during'), 'the write committed once the lock was free')
})

t.test('writes run in the order called, and each is visible to reads once it resolved', async (t) => {
  const store = new SqliteStore(tempFile(t), { writerThread: true })
  t.teardown(() => store.close())
  await t.rejects(store.insertToken(token('h')), { name: 'StoreUnavailableError', message: /not migrated.*migrate sql/ }, 'the thread’s errors are mapped too')
  await store.migrate()

  await store.createClient(client('svc'))
  await t.rejects(store.createClient(client('svc')), DuplicateClientError)
  t.equal(await store.updateClient(client('svc', 'renamed')), true)
  t.equal((await store.getClient('svc'))?.client_name, 'renamed')

  // Group commit: one batch; a duplicate fails alone.
  const inserts = await Promise.allSettled(['a', 'b', 'a', 'c'].map((h) => store.insertToken(token(h))))
  t.same(inserts.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
  // Queued inserts and the deletes called after them, in one turn: the deletes see the inserts.
  const queued = [store.insertToken(token('d')), store.insertToken(token('e', { client_id: 'other' }))]
  const deleted = store.deleteToken('d')
  const ofOther = store.deleteTokensOfClient('other')
  await Promise.all(queued)
  t.equal(await deleted, true)
  t.equal(await ofOther, 1)
  t.equal(await store.getToken('d'), undefined)

  await store.insertToken(token('old', { expires_at: NOW_S - 10 }))
  t.equal(await store.purgeExpiredTokens(NOW_S, 10), 1)
  t.equal(await store.deleteClient('svc'), true, 'the client and its tokens')
  t.equal(await store.getToken('a'), undefined)
  t.equal(await store.deleteClient('svc'), false)

  const key = { set: 'jwt', kid: 'k1', private_jwk: { kid: 'k1' }, public_jwk: { kid: 'k1' }, created_at: 1 }
  await store.insertKey(key)
  t.same(await store.listKeys('jwt'), [key])
  t.equal(await store.deleteKeys('jwt', 'k1'), 1)
})

t.test('close writes what was handed over first; later writes are refused; the data is in the file', async (t) => {
  const file = tempFile(t)
  const store = await threadStore(t, file)
  const pending = [store.insertToken(token('q1')), store.insertToken(token('q2'))]
  await Promise.all([store.close(), store.close()])
  await Promise.all(pending)
  await t.rejects(store.insertToken(token('late')), StoreUnavailableError)
  await t.rejects(store.deleteToken('q1'), StoreUnavailableError)

  const again = new SqliteStore(file)
  t.teardown(() => again.close())
  t.ok(await again.getToken('q1'))
  t.ok(await again.getToken('q2'))
})

t.test('a writer thread that cannot open its file fails every write as unavailable', async (t) => {
  const notADir = tempFile(t)
  writeFileSync(notADir, '')
  const writer = new ThreadWriter({ file: join(notADir, 'x.sqlite'), options: {} })
  t.teardown(() => writer.close())
  await t.rejects(writer.submit({ op: 'deleteToken', signatureHash: 'x' }), { name: 'StoreUnavailableError', message: /writer thread .* failed: cannot open/ })
  await t.rejects(writer.submit({ op: 'deleteToken', signatureHash: 'x' }), StoreUnavailableError)
})

t.test('close() after the writer thread already ended resolves (it used to wait for an exit event that had passed)', async (t) => {
  const notADir = tempFile(t)
  writeFileSync(notADir, '')
  const writer = new ThreadWriter({ file: join(notADir, 'x.sqlite'), options: {} })
  await t.rejects(writer.submit({ op: 'deleteToken', signatureHash: 'x' }), StoreUnavailableError)
  // Not a timing assumption: close() must resolve whether or not the thread has exited yet; the
  // pause only makes the case that once hung (exit before close) the one this test sees.
  await new Promise((r) => setTimeout(r, 300))
  await writer.close()
  t.pass('closed')
})
