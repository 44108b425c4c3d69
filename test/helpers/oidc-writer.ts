// Child process for test/oidc-records.test.ts: upserts OIDC records in concurrent bursts through
// the writer thread a serving token server uses, consumes every other one, and prints each write
// once it resolved ("upserted <id>", "consumed <id>"), until it is killed.
import { SqliteStore } from '../../src/token-server/store/sqlite.js'

const NOW = 1_767_225_600
const file = process.argv[2]
if (file === undefined) throw new Error('usage: oidc-writer <file>')
const store = new SqliteStore(file, { writerThread: true })
await store.migrate()
for (let i = 0; ; ) {
  const burst = Array.from({ length: 20 }, () => `code-${i++}`)
  await Promise.all(
    burst.map(async (id, n) => {
      await store.oidc.upsert({ model: 'auth_code', id, payload: { n }, expires_at: NOW + 3600, grant_id: `g-${id}`, client_id: 'app' })
      // A pipe is written synchronously on Linux and macOS: once the parent reads the line, the
      // write had resolved.
      process.stdout.write(`upserted ${id}\n`)
      if (n % 2 === 0 && (await store.oidc.consume('auth_code', id, NOW)).status === 'first') process.stdout.write(`consumed ${id}\n`)
    }),
  )
}
