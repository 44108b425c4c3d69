import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, start } from './helpers/cli.js'

// Dozens of CLI processes (~0.3 s of CPU each): on 2 busy cores this file needs more than
// the suite's 120 s default, though it does nothing slow itself.
t.setTimeout(300_000)

t.test('version and --help on every verb', async (t) => {
  const v = await run(['version'])
  t.equal(v.code, 0)
  t.match(v.stdout, /^\d+\.\d+\.\d+\n$/)
  for (const verb of [[], ['serve'], ['rules'], ['rules', 'validate'], ['rules', 'list'], ['health'], ['health', 'alive'], ['health', 'ready'], ['quickstart']]) {
    const h = await run([...verb, '--help'])
    t.equal(h.code, 0, `${verb.join(' ') || 'gatehouse'} --help`)
    t.match(h.stdout, /Usage: gatehouse/)
  }
})

t.test('rules validate: the example rules are valid', async (t) => {
  const r = await run(['rules', 'validate', 'rules', '-c', 'config/quickstart.yml'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /all rules are valid/)
})

t.test('rules validate: every problem listed with file and rule id, exit 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-validate-'))
  writeFileSync(join(dir, 'a.yml'), `
- id: one
  match: { url: 'http://x/<[>', methods: [GET] }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: two
  match: { url: 'http://x/two', methods: [GET] }
  authenticators: [{ handler: nope }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`)
  writeFileSync(join(dir, 'b.json'), JSON.stringify([{ id: 'two', match: { url: 'http://x/b', methods: ['GET'] }, authenticators: [{ handler: 'noop' }], authorizer: { handler: 'allow' }, mutators: [{ handler: 'noop' }] }]))
  writeFileSync(join(dir, 'c.yaml'), '- id: [broken')
  const r = await run(['rules', 'validate', dir])
  t.equal(r.code, 1)
  t.match(r.stderr, /a\.yml.*rule "one".*match\.url/)
  t.match(r.stderr, /a\.yml.*rule "two".*unknown authenticator "nope"/)
  t.match(r.stderr, /b\.json.*"two".*duplicate/)
  t.match(r.stderr, /c\.yaml/)
})

t.test('serve with a bad config lists every problem and exits 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cfg-'))
  const f = join(dir, 'bad.yml')
  writeFileSync(f, 'serve:\n  proxy:\n    port: nope\naccess_rules:\n  matching_strategy: fuzzy\nlog:\n  formatt: json\n')
  const r = await run(['serve', '-c', f])
  t.equal(r.code, 1)
  t.match(r.stderr, /serve\.proxy\.port/)
  t.match(r.stderr, /access_rules\.matching_strategy/)
  t.match(r.stderr, /formatt/)
  t.notMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace')
})

t.test('serve, then health and rules list against it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-'))
  const f = join(dir, 'ports.yml')
  writeFileSync(f, 'serve:\n  proxy: { port: 0 }\n  api: { port: 0 }\n  prometheus: { port: 0 }\nlog: { level: info, format: json }\n')
  const gw = await start(['serve', '-c', 'config/quickstart.yml', '-c', f], /gateway listening/)
  t.teardown(() => gw.stop())
  const api = /"api":"[^"]*:(\d+)"/.exec(gw.output())
  t.ok(api, 'api address logged')
  const endpoint = `http://127.0.0.1:${api![1]}`
  const alive = await run(['health', 'alive', '--endpoint', endpoint])
  t.equal(alive.code, 0)
  const ready = await run(['health', 'ready', '--endpoint', endpoint])
  t.equal(ready.code, 0)
  const list = await run(['rules', 'list', '--endpoint', endpoint])
  t.equal(list.code, 0)
  t.match(list.stdout, /ID\s+METHODS\s+URL/)
  t.match(list.stdout, /public\s+GET,HEAD\s+http:\/\/127\.0\.0\.1:4455\/public\/<\.\*>/)
  const down = await run(['health', 'alive', '--endpoint', 'http://127.0.0.1:1'])
  t.equal(down.code, 1, 'unreachable endpoint → exit 1')
})
