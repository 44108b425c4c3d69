import t from 'tap'
import { createLogger } from '../src/observability/logger.js'
import { startJanitor } from '../src/token-server/janitor.js'
import { MemoryStore } from '../src/token-server/store/memory.js'
import type { TokenRecord } from '../src/token-server/store/types.js'

const token = (hash: string, expiresAt: number): TokenRecord => ({
  signature_hash: hash,
  client_id: 'c',
  subject: 'c',
  scope: [],
  audience: [],
  strategy: 'opaque',
  issued_at: 0,
  expires_at: expiresAt,
  ext: {},
})

t.test('the janitor purges every expired token in small batches and leaves live ones', async (t) => {
  const store = new MemoryStore()
  const now = Math.floor(Date.now() / 1000)
  for (let i = 0; i < 7; i++) await store.insertToken(token(`expired-${i}`, now - 10))
  await store.insertToken(token('live', now + 3600))
  const calls: number[] = []
  const purge = store.purgeExpiredTokens.bind(store)
  store.purgeExpiredTokens = async (n, limit) => {
    const done = await purge(n, limit)
    calls.push(done)
    return done
  }
  const stop = startJanitor(store, createLogger({ level: 'silent', format: 'json' }), 20, 3)
  t.teardown(stop)
  await new Promise((r) => setTimeout(r, 150))
  for (let i = 0; i < 7; i++) t.equal(await store.getToken(`expired-${i}`), undefined)
  t.ok(await store.getToken('live'))
  t.same(calls.slice(0, 3), [3, 3, 1], 'batches of at most 3 until one comes back short')
})

t.test('a failing purge is logged and retried, never thrown', async (t) => {
  const store = new MemoryStore()
  let attempts = 0
  store.purgeExpiredTokens = async () => {
    attempts++
    throw new Error('database is locked')
  }
  const lines: string[] = []
  const { Writable } = await import('node:stream')
  const sink = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) })
  const stop = startJanitor(store, createLogger({ level: 'warn', format: 'json' }, sink), 20, 10)
  t.teardown(stop)
  await new Promise((r) => setTimeout(r, 110))
  t.ok(attempts >= 2, `retried (${attempts} attempts)`)
  t.match(lines[0], /could not purge expired access tokens; will retry/)
})
