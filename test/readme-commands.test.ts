import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command, CommanderError } from 'commander'
import { buildProgram } from '../src/cli/program.js'
import { BIN, ROOT } from './helpers/cli.js'

// The README's "## Command line" block, checked two ways: every `gatehouse` command in it must
// parse (verb, flags, required arguments) with the real command tree, nothing run; and those that
// need no running server are run verbatim (`npx gatehouse` → the built CLI) in a scratch directory
// that sees the repository's config/ and rules/, with only the listening ports moved to 0.

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
const block = /## Command line\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''

/** One shell line of the block (comments dropped, continuations joined), each `&&` part separately. */
const lines = block
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
  .filter((l) => l !== '')

/** The gatehouse argv of a shell command: env assignments, `npx gatehouse` and a redirect taken off. */
function argvOf(command: string): string[] | undefined {
  const m = /^(?:[A-Z_]+=(?:\$\([^)]*\)|\S+)\s+)*npx gatehouse\s+(.*?)(?:\s*>\s*\S+)?$/.exec(command)
  return m?.[1]!.split(/\s+/).filter((a) => a !== '')
}

const commands = lines.flatMap((l) => l.split(/\s*&&\s*/)).filter((c) => argvOf(c) !== undefined)

/** The real command tree with every action replaced: parsing is checked, nothing runs. */
function dryProgram(): Command {
  const program = buildProgram()
  const prepare = (c: Command): void => {
    c.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    if (c.commands.length === 0) c.action(() => undefined)
    for (const sub of c.commands) prepare(sub)
  }
  prepare(program)
  return program
}

t.test('every gatehouse command of the Command line block parses', async (t) => {
  t.ok(commands.length >= 19, `${commands.length} commands found`)
  for (const command of commands) {
    try {
      await dryProgram().parseAsync(argvOf(command)!, { from: 'user' })
      t.pass(command)
    } catch (err) {
      t.fail(`${command}: ${err instanceof CommanderError ? err.message : String(err)}`)
    }
  }
})

t.test('a misspelt flag or verb would be caught by the dry parse', async (t) => {
  for (const argv of [['rules', 'validate', 'rules/', '--conf', 'x'], ['token-server', 'serve', 'everything'], ['creat', 'client']]) {
    await t.rejects(dryProgram().parseAsync(argv, { from: 'user' }), CommanderError, argv.join(' '))
  }
})

/** Runs one line with bash in `cwd`; `npx gatehouse` is the built CLI. */
function shell(line: string, cwd: string, env: NodeJS.ProcessEnv, until?: RegExp): Promise<{ code: number | null; out: string }> {
  const script = line.replaceAll('npx gatehouse', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`)
  // Its own process group: a server started under `bash -c` is stopped with everything it spawned.
  const child = spawn('bash', ['-c', script], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 60_000)
    const onData = (d: Buffer): void => {
      out += d.toString()
      if (until?.test(out) === true) process.kill(-child.pid!, 'SIGTERM')
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, out })
    })
  })
}

t.test('the commands that need no running server work verbatim, in README order', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-readme-'))
  symlinkSync(join(ROOT, 'config'), join(dir, 'config'))
  symlinkSync(join(ROOT, 'rules'), join(dir, 'rules'))
  const ports = { SERVE_PROXY_PORT: '0', SERVE_API_PORT: '0', SERVE_PROMETHEUS_PORT: '0', SERVE_PUBLIC_PORT: '0', SERVE_ADMIN_PORT: '0' }
  // What each runnable line must show; a server line runs until it says it is up, then is stopped.
  const expected: [RegExp, RegExp, RegExp?][] = [
    [/^npx gatehouse serve -c config\/quickstart\.yml$/, /access rules loaded[^]*gateway listening/, /gateway listening/],
    [/rules validate/, /all rules are valid/],
    [/rules convert/, /kind: ConfigMap/],
    [/credentials generate/, /^$/],
    [/^npx gatehouse version$/, /^\d+\.\d+\.\d+\n$/],
    [/token-server migrate/, /Applied \d+ migrations|no migrations pending|up to date/i],
    [/token-server serve/, /admin API listening/, /admin API listening/],
  ]
  let ran = 0
  for (const line of lines) {
    const rule = expected.find(([which]) => which.test(line))
    if (rule === undefined) continue
    const [, shows, until] = rule
    const { code, out } = await shell(line, dir, { ...ports, LOG_FORMAT: 'json' }, until)
    if (until === undefined) t.equal(code, 0, `${line}: exit 0`)
    t.match(out, shows, line)
    t.notMatch(out, /invalid configuration|is broken|"level":(50|60)/, `${line}: no problem reported`)
    ran++
  }
  t.equal(ran, expected.length, 'every runnable line was found and run')
  const key = JSON.parse(readFileSync(join(dir, 'tmp', 'id_token.jwks.json'), 'utf8')) as { keys: { d?: string }[] }
  t.ok(key.keys[0]?.d, 'the private key went to tmp/, which git ignores')
})

t.test('private keys the README has you write land where git ignores them', async (t) => {
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\\\n\s*/g, ' ')).join('\n')
  const keys = [
    ...[...blocks.matchAll(/-keyout\s+(\S+)/g)].map((m) => m[1]!),
    ...[...blocks.matchAll(/credentials generate[^\n>]*>\s*(\S+)/g)].map((m) => m[1]!),
  ]
  t.ok(keys.length >= 2, `key files: ${keys.join(', ')}`)
  for (const key of keys) {
    // git check-ignore exits 0 for an ignored path (the file need not exist).
    const { code } = await shell(`git check-ignore -q ${key}`, ROOT, {})
    t.equal(code, 0, `${key} is git-ignored`)
  }
})
