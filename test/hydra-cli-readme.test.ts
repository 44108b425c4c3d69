/**
 * Every token server line of the README's "## Command line" block, run as written: only the
 * placeholders (<id>, <secret>, <token>) and the fixed ports (the test's server listens on
 * port 0) are filled in. Runs in a scratch directory, where the relative paths land.
 */
import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { BIN, clean, ROOT } from './helpers/cli.js'
import { startTokenServer } from './helpers/token-server.js'

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
const section = readme.slice(readme.indexOf('## Command line'))
const block = section.slice(section.indexOf('```sh'), section.indexOf('```\n', section.indexOf('```sh') + 5))
const lines = block
  .slice(block.indexOf("# token server (Hydra's verbs and flags)"))
  .split('\n')
  .filter((l) => l.startsWith('npx gatehouse ') && !l.includes(' serve '))
  // A trailing "# comment" is for the reader.
  .map((l) => l.replace(/\s+#.*$/, ''))

t.test('the README lists the Hydra verbs this test runs', async (t) => {
  for (const verb of ['migrate sql up', 'janitor', 'create client', 'update client', 'import client', 'create jwk', 'import jwk', 'get jwk', 'delete jwk']) {
    t.ok(lines.some((l) => l.startsWith(`npx gatehouse ${verb} `)), verb)
  }
})

t.test("the README's command-line lines work as written", async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  const cwd = mkdtempSync(join(tmpdir(), 'gatehouse-readme-cli-'))
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }))
  mkdirSync(join(cwd, 'data'))
  writeFileSync(join(cwd, 'clients.json'), JSON.stringify([{ client_id: 'readme-imported', grant_types: ['client_credentials'] }]))
  writeFileSync(join(cwd, 'rsa.key'), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }))

  const values: Record<string, string> = {}
  for (const line of lines) {
    const args = line
      .replace(/^npx gatehouse /, '')
      .replaceAll('http://127.0.0.1:4445/', `${s.adminUrl}/`)
      .replaceAll('http://127.0.0.1:4444/', `${s.publicUrl}/`)
      .replace(/<(id|secret|token)>/g, (_, k: string) => values[k]!)
      .split(/\s+/)
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [BIN, ...args], { cwd, env: clean({ TZ: 'UTC' }) }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), stdout, stderr }),
      ),
    )
    t.equal(r.code, 0, `${line}\n${r.stderr}`)
    // The values later lines need, from the table output as a script would cut them.
    const field = (name: string): string | undefined => new RegExp(`^${name}\\t+(\\S+)\\t`, 'm').exec(r.stdout)?.[1]
    if (line.startsWith('npx gatehouse create client')) {
      values.id = field('CLIENT ID')!
      values.secret = field('CLIENT SECRET')!
    }
    if (line.startsWith('npx gatehouse perform client-credentials')) values.token = field('ACCESS TOKEN')!
  }
  t.ok(values.id && values.secret && values.token, 'the flow produced a client and a token')
})
