import Database from 'better-sqlite3'
import t from 'tap'
import type { TokenRecord } from '../src/token-server/store/types.js'
import { adminQuery, forEachKind, type OpenedStore } from './helpers/stores.js'

const NOW_S = 1_767_225_600

function token(hash: string, over: Partial<TokenRecord> = {}): TokenRecord {
  return {
    signature_hash: hash,
    grant_id: 'g1',
    token_use: 'access_token',
    client_id: 'web',
    subject: 'alice',
    scope: ['openid', 'offline'],
    audience: [],
    strategy: 'opaque',
    issued_at: NOW_S,
    expires_at: NOW_S + 3600,
    ext: {},
    ...over,
  }
}

forEachKind(t, 'revokeByGrantId deletes every token of the grant, of either use, and names them', async (t, store) => {
  const access = token('at1')
  const refresh = token('rt1', { token_use: 'refresh_token', expires_at: NOW_S + 86_400 })
  const rotated = token('at2', { issued_at: NOW_S + 10 })
  const other = token('at3', { grant_id: 'g2' })
  for (const tk of [access, refresh, rotated, other]) await store.insertToken(tk)
  t.same(await store.getToken('rt1'), refresh, 'grant_id and token_use round-trip')
  t.same((await store.revokeByGrantId('g1')).sort(), ['at1', 'at2', 'rt1'])
  for (const hash of ['at1', 'at2', 'rt1']) t.equal(await store.getToken(hash), undefined, `${hash} is gone`)
  t.same(await store.getToken('at3'), other, "another grant's token stays")
  t.same(await store.revokeByGrantId('g1'), [], 'a revoked grant has nothing left')
  t.same(await store.revokeByGrantId('nope'), [])
})

// SQLite only: its inserts wait in the group-commit queue, so a revocation called after an insert
// must flush it first. Postgres runs concurrent calls on separate connections, in no set order.
forEachKind(
  t,
  'revokeByGrantId sees a token whose insert is still queued (group commit)',
  async (t, store) => {
    const inserted = store.insertToken(token('queued'))
    t.same(await store.revokeByGrantId('g1'), ['queued'])
    await inserted
    t.equal(await store.getToken('queued'), undefined)
  },
  { kinds: (k) => k.name.startsWith('sqlite') },
)

/** Runs SQL on the store's database directly, as a token server of the previous version would. */
async function raw(opened: OpenedStore, sql: string): Promise<void> {
  if (opened.dsn.startsWith('sqlite://')) {
    const db = new Database(new URL(opened.dsn).pathname)
    try {
      db.exec(sql)
    } finally {
      db.close()
    }
    return
  }
  const schema = new URL(opened.dsn).searchParams.get('search_path')!
  await adminQuery(`SET search_path TO ${schema}; ${sql}`)
}

/** A row as the previous version (schema 3) writes it: no grant_id, no token_use. */
const V3_INSERT = (hash: string): string =>
  `INSERT INTO gatehouse_access_tokens (signature_hash, client_id, subject, scope, audience, strategy, issued_at, expires_at, ext)
   VALUES ('${hash}', 'svc', 'svc', '[]', '[]', 'opaque', ${NOW_S}, ${NOW_S + 3600}, '{}')`

forEachKind(
  t,
  'migration 4 on a database with tokens: each old token is an access token of its own grant; rollback keeps access tokens only',
  async (t, store, opened) => {
    const latest = (await store.migrationStatus()).latest
    // Migration 4 and every later one.
    const after3 = latest - 3
    t.equal(await store.rollback(after3), after3, 'back to schema 3')
    await raw(opened, `${V3_INSERT('old1')}; ${V3_INSERT('old2')}`)
    t.equal(await store.migrate(), after3)
    t.same(await store.migrationStatus(), { applied: latest, latest })
    const [a, b] = [await store.getToken('old1'), await store.getToken('old2')]
    t.equal(a?.token_use, 'access_token')
    t.equal(b?.token_use, 'access_token')
    t.ok(a!.grant_id !== '' && a!.grant_id !== b!.grant_id, 'each old token is a grant of its own')
    t.same(await store.revokeByGrantId(a!.grant_id), ['old1'])
    t.ok(await store.getToken('old2'))

    // A token server of the previous version still writing during a rolling upgrade.
    await raw(opened, `${V3_INSERT('during1')}; ${V3_INSERT('during2')}`)
    const [c, d] = [await store.getToken('during1'), await store.getToken('during2')]
    t.equal(c?.token_use, 'access_token', "the old version's insert still works")
    t.ok(c!.grant_id !== '' && c!.grant_id !== d!.grant_id, 'and gives each token a grant of its own')

    await store.insertToken(token('rt', { token_use: 'refresh_token' }))
    await store.insertToken(token('at'))
    t.equal(await store.rollback(after3), after3)
    await raw(opened, V3_INSERT('after-rollback'))
    t.equal(await store.migrate(), after3, 'and forward again')
    t.equal(await store.getToken('rt'), undefined, 'a refresh token does not survive as an access token of schema 3')
    t.equal((await store.getToken('at'))?.subject, 'alice', 'access tokens survive the round trip')
    t.ok(await store.getToken('after-rollback'))
  },
  { kinds: (k) => k.name === 'sqlite file' || k.name === 'postgres' },
)
