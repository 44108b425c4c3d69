/**
 * `gatehouse login-app hash-password` and `login-app serve` as processes (the built dist/).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { createHasher } from '../src/token-server/hash.js'
import { BIN, ROOT, clean, run, start } from './helpers/cli.js'
import { writeUsersFile } from './helpers/login-app.js'

function hashPassword(stdin: string, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'login-app', 'hash-password', ...args], { cwd: ROOT, env: clean(), stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(stdin)
  })
}

const verify = createHasher({ algorithm: 'pbkdf2', pbkdf2: { iterations: 1000 }, bcrypt: { cost: 4 } }).verify

t.test('hash-password reads the password from stdin (one trailing newline dropped) and prints a hash', async (t) => {
  const r = await hashPassword('foobar\n')
  t.equal(r.code, 0, r.stderr)
  const hash = r.stdout.trim()
  t.match(hash, /^\$pbkdf2-sha256\$i=600000,l=32\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
  t.ok(await verify('foobar', hash))
  t.notOk(await verify('foobar\n', hash))
  const fewer = await hashPassword('pass word\r\n', ['--iterations', '1000'])
  t.match(fewer.stdout, /^\$pbkdf2-sha256\$i=1000,/)
  t.ok(await verify('pass word', fewer.stdout.trim()))
})

t.test('hash-password refuses an empty stdin and bad iterations', async (t) => {
  const empty = await hashPassword('')
  t.equal(empty.code, 1)
  t.match(empty.stderr, /no password on stdin/)
  const bad = await hashPassword('x', ['--iterations', '10'])
  t.not(bad.code, 0)
  t.match(bad.stderr, /an integer from 1000 to 10000000/)
})

t.test('serve: a broken config or users file is a clear message and exit 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-login-app-cli-'))
  const config = join(dir, 'bad.yml')
  writeFileSync(config, 'serve: { port: many }\nurls: { admin: ftp://x }\n')
  const r = await run(['login-app', 'serve', '-c', config])
  t.equal(r.code, 1)
  t.match(r.stderr, /invalid configuration:\n {2}- serve\.port: [^\n]+\n {2}- urls\.admin: /)
  const users = join(dir, 'users.yml')
  writeFileSync(users, 'users:\n  - username: a\n    password_hash: plain\n  - {}\n')
  const good = join(dir, 'good.yml')
  writeFileSync(good, `serve: { port: 0 }\nusers_file: ${users}\n`)
  const u = await run(['login-app', 'serve', '-c', good])
  t.equal(u.code, 1)
  t.match(u.stderr, /invalid users file:\n {2}- .*users\[0\]\.password_hash: must be a hash from "gatehouse login-app hash-password"\n {2}- .*users\[1\]\.username: must be a non-empty string/)
  t.notMatch(u.stderr, /\bat .*\.js/, 'no stack trace')
})

t.test('serve: listens, answers its pages, stops on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-login-app-cli-'))
  const config = join(dir, 'app.yml')
  writeFileSync(config, `serve: { port: 0 }\nusers_file: ${await writeUsersFile()}\nlog: { format: json }\n`)
  const app = await start(['login-app', 'serve', '-c', config], /login app listening/)
  t.teardown(() => app.stop())
  const line = app.output().split('\n').find((l) => l.includes('login app listening'))!
  const { url } = JSON.parse(line) as { url: string }
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  const home = await request(url)
  t.equal(home.statusCode, 200)
  t.match(await home.body.text(), /Gatehouse login app/)
  const alive = await request(new URL('health/alive', url))
  t.same(await alive.body.json(), { status: 'ok' })
})
