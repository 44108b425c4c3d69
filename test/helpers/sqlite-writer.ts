// Child process for test/token-store-durability.test.ts: inserts tokens in concurrent bursts
// (so they go through group commit), through the writer thread a serving token server uses, and
// prints each signature hash once its insert resolved, until it is killed.
import { SqliteStore } from '../../src/token-server/store/sqlite.js'

const file = process.argv[2]
if (file === undefined) throw new Error('usage: sqlite-writer <file>')
const store = new SqliteStore(file, { writerThread: true })
await store.migrate()
for (let i = 0; ; ) {
  const burst = Array.from({ length: 25 }, () => `tok-${i++}`)
  await Promise.all(
    burst.map(async (hash) => {
      await store.insertToken({
        signature_hash: hash,
        grant_id: hash,
        token_use: 'access_token',
        client_id: 'svc',
        subject: 'svc',
        scope: [],
        audience: [],
        strategy: 'opaque',
        issued_at: 1,
        expires_at: 2_000_000_000,
        ext: {},
      })
      // A pipe is written synchronously on Linux and macOS: once the parent reads the line,
      // the insert had resolved.
      process.stdout.write(`${hash}\n`)
    }),
  )
}
