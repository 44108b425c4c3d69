import t from 'tap'
import { Writable } from 'node:stream'
import { createLogger, redactSecrets } from '../src/observability/logger.js'

/** A destination that keeps everything written to it. */
function sink(): { stream: Writable; text(): string } {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'))
      cb()
    },
  })
  return { stream, text: () => chunks.join('') }
}

/** pino-pretty writes through a stream pipeline; give it a turn of the event loop to arrive. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20))

t.test('json format writes one JSON object per line with level name and msg', async (t) => {
  const out = sink()
  const log = createLogger({ level: 'info', format: 'json' }, out.stream)
  log.info({ rule: 'r1' }, 'hello')
  log.warn('careful')
  await settle()
  const lines = out.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
  t.equal(lines.length, 2)
  t.match(lines[0], { level: 'info', msg: 'hello', rule: 'r1' })
  t.match(lines[1], { level: 'warn', msg: 'careful' })
  t.match(lines[0]!.time, /^\d{4}-\d\d-\d\dT/, 'ISO timestamp')
})

t.test('level filters lower levels out', async (t) => {
  const out = sink()
  const log = createLogger({ level: 'warn', format: 'json' }, out.stream)
  log.info('dropped')
  log.debug('dropped too')
  log.error('kept')
  await settle()
  const lines = out.text().trim().split('\n')
  t.equal(lines.length, 1)
  t.match(JSON.parse(lines[0]!), { level: 'error', msg: 'kept' })
})

t.test('text format produces human lines, not JSON', async (t) => {
  const out = sink()
  const log = createLogger({ level: 'info', format: 'text' }, out.stream)
  log.info({ rule: 'r1' }, 'gateway listening')
  await settle()
  const text = out.text()
  t.match(text, /INFO/)
  t.match(text, /gateway listening/)
  t.match(text, /rule: "r1"/)
  t.notOk(/\x1b\[/.test(text), 'no colour codes when writing to a given stream')
  t.throws(() => JSON.parse(text.trim().split('\n')[0]!), 'first line is not JSON')
})

t.test('authorization and cookie headers are redacted', async (t) => {
  const out = sink()
  const log = createLogger({ level: 'info', format: 'json' }, out.stream)
  const headers = { authorization: 'Bearer secret-token', cookie: 'session=secret-cookie', accept: 'text/html' }
  log.info({ req: { headers } }, 'incoming')
  log.info({ headers }, 'top level')
  log.info({ upstream: { headers: { 'proxy-authorization': 'Basic secret-basic' } } }, 'nested')
  await settle()
  const text = out.text()
  t.notMatch(text, /secret-/, 'no credential value reaches the log')
  const [first, second, third] = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>)
  t.same(first!.req.headers, { authorization: '[REDACTED]', cookie: '[REDACTED]', accept: 'text/html' })
  t.equal(second!.headers.authorization, '[REDACTED]')
  t.equal(third!.upstream.headers['proxy-authorization'], '[REDACTED]')
  t.equal(headers.authorization, 'Bearer secret-token', 'the logged object itself is not changed')
})

t.test('secret header names are matched whatever their case', async (t) => {
  const out = sink()
  const log = createLogger({ level: 'info', format: 'json' }, out.stream)
  log.info({ headers: { Authorization: 'Bearer secret-a', 'Set-Cookie': ['a=secret-b', 'b=secret-c'] } }, 'top level')
  log.info({ upstream: { url: 'http://u', headers: { 'X-Api-Key': 'secret-d' } } }, 'nested')
  await settle()
  const text = out.text()
  t.notMatch(text, /secret-/, 'no credential value reaches the log')
  const [first, second] = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>)
  t.same(first!.headers, { Authorization: '[REDACTED]', 'Set-Cookie': '[REDACTED]' })
  t.same(second!.upstream, { url: 'http://u', headers: { 'X-Api-Key': '[REDACTED]' } })
})

t.test('redactSecrets copies nothing when there is nothing to hide (the per-request log line)', async (t) => {
  const line = { request_id: 'r', method: 'GET', path: '/x', rule: 'r1', status: 200, duration_ms: 1.5 }
  t.equal(redactSecrets(line), line, 'same object')
  const withHeaders = { req: { headers: { accept: '*/*' } } }
  t.equal(redactSecrets(withHeaders), withHeaders, 'headers without secrets: same object')
})

t.test('redaction also applies in text format', async (t) => {
  const out = sink()
  const log = createLogger({ level: 'info', format: 'text' }, out.stream)
  log.info({ req: { headers: { authorization: 'Bearer secret-token' } } }, 'incoming')
  await settle()
  t.notMatch(out.text(), /secret-token/)
  t.match(out.text(), /\[REDACTED\]/)
})

t.test('text format on stdout is flushed when a short CLI run exits at once', async (t) => {
  const { execFile } = await import('node:child_process')
  const loggerUrl = new URL('../src/observability/logger.js', import.meta.url).href
  const script = `const { createLogger } = await import(${JSON.stringify(loggerUrl)})
createLogger({ level: 'info', format: 'text' }).info('last words'); process.exit(0)`
  // Keep only the TypeScript loader tap runs us with, so the child can import the .ts source.
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [...loader, '--input-type=module', '-e', script], { timeout: 20_000 }, (err, out) =>
      err ? reject(err) : resolve(out),
    ),
  )
  t.match(stdout, /INFO.*last words/)
})
