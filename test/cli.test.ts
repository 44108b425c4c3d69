import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, start } from './helpers/cli.js'

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

t.test('rules validate without -c on the example rules: every problem, and which config makes them valid', async (t) => {
  const r = await run(['rules', 'validate', 'rules/'])
  t.equal(r.code, 1)
  t.match(r.stderr, /rule "api": authenticators\[0\]: oauth2_introspection config: must have required property 'introspection_url' \(set it in the rule's config or in the gateway config under authenticators\.oauth2_introspection\.config\)/)
  t.match(r.stderr, /rule "api": mutators\[1\]: id_token config: must have required property 'issuer_url'/, 'not only the first problem of a rule')
  t.match(r.stderr, /rule "api-jwt": authenticators\[0\]: jwt config: must have required property 'jwks_urls'/)
  t.match(r.stderr, /hint: no gateway config was given \(-c\)[^]*gatehouse rules validate -c config\/quickstart\.yml rules\//)
})

t.test('unknown handler ids and handler config typos stop serve, quickstart and rules validate -c, naming the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-handlers-'))
  const f = join(dir, 'typos.yml')
  writeFileSync(f, 'authenticators:\n  anonymus: { enabled: true }\n  jwt:\n    enabled: true\n    config: { jwks_urlz: [http://127.0.0.1/jwks.json] }\nmutators:\n  headers: { enabled: true }\n')
  for (const args of [['serve', '-c', f], ['quickstart', '-c', f], ['rules', 'validate', 'rules', '-c', 'config/quickstart.yml', '-c', f]]) {
    const r = await run(args)
    const what = args.slice(0, 2).join(' ')
    t.equal(r.code, 1, what)
    t.match(r.stderr, /authenticators\.anonymus: unknown authenticator id \(known: noop, anonymous,[^)]*\) \[in [^\]]*typos\.yml\]/, what)
    t.match(r.stderr, /authenticators\.jwt\.config\.jwks_urlz: unknown key \(known: jwks_urls,[^)]*\) \[in [^\]]*typos\.yml\]/, what)
    t.match(r.stderr, /mutators\.headers: unknown mutator id \(known: noop, header,/, what)
    t.notMatch(r.stderr, /rules\/\w+\.yml/, `${what}: reported against the config, not the rule files`)
    t.notMatch(r.stdout + r.stderr, /listening/, `${what}: nothing started`)
  }
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
