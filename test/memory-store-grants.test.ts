/**
 * The memory store's grant index: revokeByGrantId finds a grant's tokens without scanning every
 * token, and every other way a token leaves the store (delete, client deletion, expiry purge,
 * re-insertion under another grant) keeps the index true.
 */
import t from 'tap'
import { MemoryStore } from '../src/token-server/store/memory.js'
import type { TokenRecord } from '../src/token-server/store/types.js'

function token(hash: string, grant: string, over: Partial<TokenRecord> = {}): TokenRecord {
  return {
    signature_hash: hash,
    grant_id: grant,
    token_use: 'access_token',
    client_id: 'app',
    subject: 'alice',
    scope: [],
    audience: [],
    strategy: 'opaque',
    issued_at: 1000,
    expires_at: 5000,
    ext: {},
    ...over,
  }
}

t.test('revokeByGrantId removes exactly the grant’s tokens, once', async (t) => {
  const s = new MemoryStore()
  await s.insertToken(token('a1', 'A'))
  await s.insertToken(token('a2', 'A', { token_use: 'refresh_token' }))
  await s.insertToken(token('b1', 'B'))
  t.same((await s.revokeByGrantId('A')).sort(), ['a1', 'a2'])
  t.equal(await s.getToken('a1'), undefined)
  t.ok(await s.getToken('b1'), 'another grant untouched')
  t.same(await s.revokeByGrantId('A'), [], 'nothing left to revoke')
  t.same(await s.revokeByGrantId('nope'), [])
})

t.test('tokens that left another way are not reported again', async (t) => {
  const s = new MemoryStore()
  await s.insertToken(token('a1', 'A'))
  await s.insertToken(token('a2', 'A'))
  await s.insertToken(token('a3', 'A', { expires_at: 10 }))
  await s.insertToken(token('c1', 'C', { client_id: 'other' }))
  t.equal(await s.deleteToken('a1'), true)
  t.equal(await s.deleteToken('a1'), false, 'already gone')
  t.equal(await s.purgeExpiredTokens(100, 10), 1, 'a3 expired')
  t.same(await s.revokeByGrantId('A'), ['a2'])
  t.equal(await s.deleteTokensOfClient('other'), 1)
  t.same(await s.revokeByGrantId('C'), [])
})

t.test('a token stored again under another grant moves with it', async (t) => {
  const s = new MemoryStore()
  await s.insertToken(token('x', 'A'))
  await s.insertToken(token('x', 'B'))
  t.same(await s.revokeByGrantId('A'), [])
  t.same(await s.revokeByGrantId('B'), ['x'])
})
