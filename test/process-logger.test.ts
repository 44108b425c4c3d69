import { spawn } from 'node:child_process'
import t, { type Test } from 'tap'
import { exitOf } from './helpers/wait.js'

// The logger of the long-running verbs, in real processes writing JSON to a pipe (as under a
// container runtime): however the process ends, no line logged before is lost. The built
// module, as the CLI runs it (npm test builds first).
const processLoggerUrl = new URL('../dist/cli/process-logger.js', import.meta.url).href

/** Lines per run: a few MB, more than a pipe holds, so writes wait for the reader. */
const N = 20_000

/** Runs `body` after `logger` (JSON, info) has logged N numbered lines over many turns. */
async function run(body: string): Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }> {
  const script = `const { processLogger } = await import(${JSON.stringify(processLoggerUrl)})
const logger = await processLogger({ level: 'info', format: 'json' })
for (let n = 0; n < ${N}; n++) {
  logger.info({ n, pad: 'x'.repeat(n % 100) }, 'line')
  if (n % 500 === 499) await new Promise((r) => setImmediate(r))
}
${body}`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const [{ code }] = await Promise.all([exitOf(child), new Promise((r) => child.stdout.on('end', r))])
  const lines = stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  return { code, lines, stderr }
}

/** The numbered lines are all there, once each and in order. */
function allNumbered(t: Test, lines: Record<string, unknown>[]): void {
  const ns = lines.filter((l) => l.msg === 'line').map((l) => l.n)
  t.equal(ns.length, N, `${N} lines`)
  t.ok(
    ns.every((n, i) => n === i),
    'in order, none twice',
  )
}

t.test('an uncaught exception: a fatal line with the stack after every earlier line; exit 1', async (t) => {
  const r = await run(`setImmediate(() => { throw new Error('boom in a callback') })`)
  t.equal(r.code, 1)
  allNumbered(t, r.lines)
  const last = r.lines.at(-1)!
  t.match(last, { level: 'fatal', msg: 'crashed: uncaught exception; exiting', origin: 'uncaughtException', err: { message: 'boom in a callback' } })
  t.match((last.err as { stack: string }).stack, /boom in a callback\n\s+at /, 'the stack is in the line')
})

t.test('an unhandled rejection is the same crash, named as such', async (t) => {
  const r = await run(`Promise.reject(new Error('nobody caught me'))`)
  t.equal(r.code, 1)
  allNumbered(t, r.lines)
  t.match(r.lines.at(-1), { level: 'fatal', origin: 'unhandledRejection', err: { message: 'nobody caught me' } })
})

t.test('process.exit right after logging: every line is written (the exit handler)', async (t) => {
  const r = await run(`logger.info('the very last'); process.exit(3)`)
  t.equal(r.code, 3)
  allNumbered(t, r.lines)
  t.match(r.lines.at(-1), { msg: 'the very last' })
})

t.test('at level silent a crash still reaches stderr', async (t) => {
  const script = `const { processLogger } = await import(${JSON.stringify(processLoggerUrl)})
await processLogger({ level: 'silent', format: 'json' })
setImmediate(() => { throw new Error('quiet crash') })`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  t.same(await exitOf(child), { code: 1, signal: null })
  t.match(stderr, /Error: quiet crash\n\s+at /)
})
