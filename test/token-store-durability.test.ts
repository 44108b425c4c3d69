import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { SqliteStore } from '../src/token-server/store/sqlite.js'

const WRITER = fileURLToPath(new URL('./helpers/sqlite-writer.ts', import.meta.url))
// The TypeScript loader tap runs this file with, so the child can run a .ts file too.
const LOADER = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))

t.test('sqlite: every token whose insert resolved survives kill -9 of the writer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-durable-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'store.sqlite')

  const acknowledged = await new Promise<string[]>((resolve, reject) => {
    const child = spawn(process.execPath, [...LOADER, WRITER, file], { stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: string[] = []
    let partial = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.stdout.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n')
      partial = parts.pop() ?? ''
      lines.push(...parts)
      // Killed mid-stream, while bursts are still being written.
      if (lines.length >= 2000) child.kill('SIGKILL')
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (_code, signal) => {
      clearTimeout(timer)
      if (signal !== 'SIGKILL' || lines.length < 2000) reject(new Error(`writer ended early (${signal}): ${stderr}`))
      else resolve(lines)
    })
  })

  const store = new SqliteStore(file)
  t.teardown(() => store.close())
  let missing = 0
  for (const hash of acknowledged) if ((await store.getToken(hash)) === undefined) missing++
  t.equal(missing, 0, `all ${acknowledged.length} acknowledged tokens are in the file`)
})
