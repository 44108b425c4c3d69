import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { Parser, type FinalResults } from 'tap-parser'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { stringify } from 'yaml'
import { readCaseFile } from '../src/cli/rules-test/cases.js'
import { junit, passed, tapLine, type CaseResult } from '../src/cli/rules-test/report.js'
import { findCaseFiles, loadSpecs, runCaseFiles } from '../src/cli/rules-test/runner.js'
import { buildGatewayConfig, loadGatewayConfig } from '../src/pipeline/handler-settings.js'
import { ROOT, run } from './helpers/cli.js'

// `gatehouse rules test`: real rule sets, run through the gateway's decision path with the
// handlers' calls answered by fixtures (no network, no token server).

const on = { enabled: true }
const CONFIG = {
  authenticators: { anonymous: on, bearer_token: on, oauth2_introspection: on, jwt: on, cookie_session: on, noop: on },
  authorizers: { allow: on, remote_json: on, remote: on },
  mutators: { header: on, noop: on },
  errors: { fallback: ['json'], handlers: { json: on, redirect: { enabled: true, config: { to: 'http://login.test/signin' } } } },
}

/** Writes `files` into a fresh directory (removed after the test) and returns it. */
function dir(t: Test, files: Record<string, unknown>): string {
  const d = mkdtempSync(join(tmpdir(), 'rules-test-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  for (const [name, content] of Object.entries(files)) writeFileSync(join(d, name), typeof content === 'string' ? content : stringify(content))
  return d
}

/** Runs every case under `d` (rules from `rules`, default `d`) in process. */
async function runDir(d: string, rules = [d], config = buildGatewayConfig(CONFIG)): Promise<CaseResult[]> {
  const specs = await loadSpecs(rules)
  const files = await Promise.all((await findCaseFiles([d])).map(readCaseFile))
  return runCaseFiles(config, specs, files, () => {})
}

function byName(results: readonly CaseResult[]): Record<string, CaseResult> {
  return Object.fromEntries(results.map((r) => [r.name, r]))
}

const rule = (id: string, path: string, more: Record<string, unknown>): Record<string, unknown> => ({
  id,
  match: { url: `http://api.test/${path}/<.*>`, methods: ['GET', 'POST'] },
  upstream: { url: 'http://backend.internal:8080/v1', strip_path: `/${path}` },
  authorizer: { handler: 'allow' },
  mutators: [{ handler: 'header', config: { headers: { 'X-User': '{{ print .Subject }}' } } }],
  ...more,
})

t.test('introspection: an active token is forwarded with the mutators headers, an inactive one is 401', async (t) => {
  const introspect = 'http://tokens.test/admin/oauth2/introspect'
  const d = dir(t, {
    'api.yml': [rule('api', 'api', { authenticators: [{ handler: 'oauth2_introspection', config: { introspection_url: introspect } }] })],
    'api.test.yml': {
      fixtures: {
        http: [
          { request: { method: 'POST', url: introspect, form: { token: 'good' } }, response: { json: { active: true, sub: 'alice', scope: 'read' } } },
          { request: { method: 'POST', url: introspect }, response: { json: { active: false } } },
        ],
      },
      cases: [
        {
          name: 'active',
          request: { url: 'http://api.test/api/orders?x=1', headers: { Authorization: 'Bearer good' } },
          expect: { status: 200, rule: 'api', subject: 'alice', upstream: { url: 'http://backend.internal:8080/v1/orders?x=1', headers: { 'X-User': 'alice', 'X-Forwarded-Proto': 'http' } } },
        },
        { name: 'inactive', request: { url: 'http://api.test/api/orders', headers: { Authorization: 'Bearer other' } }, expect: { status: 401, rule: 'api', error_handler: 'json' } },
        // The same token as "active", wrong on purpose: the case must fail, naming the fields.
        { name: 'wrong', request: { url: 'http://api.test/api/orders', headers: { Authorization: 'Bearer good' } }, expect: { status: 401, subject: 'bob', upstream: { headers: { 'X-User': null } } } },
      ],
    },
  })
  const r = byName(await runDir(d))
  t.ok(passed(r.active!), JSON.stringify(r.active))
  t.ok(passed(r.inactive!), JSON.stringify(r.inactive))
  t.notOk(passed(r.wrong!))
  t.same(r.wrong!.diffs, [
    { field: 'status', expected: 401, actual: 200 },
    { field: 'subject', expected: 'bob', actual: 'alice' },
    { field: 'upstream.headers.X-User', expected: null, actual: 'alice' },
  ])
})

t.test('jwt: tokens signed with a key generated for the run, or with the user\'s own key and a fixture JWKS', async (t) => {
  const jwksUrl = 'http://idp.test/.well-known/jwks.json'
  const own = await generateKeyPair('ES256', { extractable: true })
  const ownJwk = { ...(await exportJWK(own.publicKey)), kid: 'own', alg: 'ES256' }
  const now = Math.floor(Date.now() / 1000)
  const ownToken = await new SignJWT({ sub: 'carol', exp: now + 600 }).setProtectedHeader({ alg: 'ES256', kid: 'own' }).sign(own.privateKey)
  const d = dir(t, {
    'gen.yml': [rule('gen', 'gen', { authenticators: [{ handler: 'jwt', config: { jwks_urls: [jwksUrl], allowed_algorithms: ['RS256', 'ES256'] } }] })],
    'own.yml': [rule('own', 'own', { authenticators: [{ handler: 'jwt', config: { jwks_urls: ['http://own.test/jwks'], allowed_algorithms: ['ES256'] } }] })],
    'jwt.test.yml': {
      fixtures: { jwks: [{ url: jwksUrl, keys: [{ kid: 'k1' }, { kid: 'k2', alg: 'ES256' }] }] },
      cases: [
        { name: 'k1', request: { url: 'http://api.test/gen/a', jwt: { claims: { sub: 'alice' } } }, expect: { status: 200, subject: 'alice', upstream: { headers: { 'x-user': 'alice' } } } },
        { name: 'k2', request: { url: 'http://api.test/gen/a', jwt: { kid: 'k2', claims: { sub: 'bob' } } }, expect: { status: 200, subject: 'bob' } },
        { name: 'expired', request: { url: 'http://api.test/gen/a', jwt: { claims: { sub: 'alice', exp: now - 60 } } }, expect: { status: 401, rule: 'gen' } },
        {
          name: 'own key',
          fixtures: { http: [{ request: { url: 'http://own.test/jwks' }, response: { json: { keys: [ownJwk] } } }] },
          request: { url: 'http://api.test/own/a', headers: { authorization: `Bearer ${ownToken}` } },
          expect: { status: 200, rule: 'own', subject: 'carol' },
        },
        // No fixture answers own.test here: the JWKS cannot be fetched, and nothing reached the network.
        { name: 'no fixture', request: { url: 'http://api.test/own/a', headers: { authorization: `Bearer ${ownToken}` } }, expect: { status: 200 } },
        { name: 'unknown kid', request: { url: 'http://api.test/gen/a', jwt: { kid: 'nope' } }, expect: { status: 200 } },
      ],
    },
  })
  const r = byName(await runDir(d))
  for (const n of ['k1', 'k2', 'expired', 'own key']) t.ok(passed(r[n]!), `${n}: ${JSON.stringify(r[n])}`)
  t.notOk(passed(r['no fixture']!))
  t.match(r['no fixture']!.reason, /own\.test/, 'the reason names the call no fixture answered')
  t.match(tapLine(r['no fixture']!, 5), /\n {4}hint: no fixture answers this call/)
  t.match(r['unknown kid']!.problem, /no jwks fixture has the key "nope"/)
})

t.test('session check and remote authorizer: allow and deny come from fixtures; redirect target and error handler', async (t) => {
  const d = dir(t, {
    'reports.yml': [
      rule('reports', 'reports', {
        authenticators: [{ handler: 'cookie_session', config: { check_session_url: 'http://sessions.test/whoami', preserve_path: true } }],
        authorizer: { handler: 'remote_json', config: { remote: 'http://authz.test/check', payload: '{"subject": "{{ print .Subject }}"}' } },
        errors: [{ handler: 'redirect', config: { when: [{ error: ['unauthorized'] }] } }, { handler: 'json' }],
      }),
    ],
    'reports.test.yml': {
      fixtures: {
        http: [
          { request: { url: 'http://sessions.test/whoami', headers: { cookie: 'sid=alice-session' } }, response: { json: { subject: 'alice' } } },
          { request: { url: 'http://sessions.test/whoami', headers: { cookie: 'sid=bob-session' } }, response: { json: { subject: 'bob' } } },
          { request: { url: 'http://sessions.test/whoami' }, response: { status: 401 } },
          { request: { method: 'POST', url: 'http://authz.test/check', json: { subject: 'alice' } }, response: { status: 200 } },
          { request: { method: 'POST', url: 'http://authz.test/check' }, response: { status: 403 } },
        ],
      },
      cases: [
        { name: 'allowed', request: { url: 'http://api.test/reports/q1', cookies: { sid: 'alice-session' } }, expect: { status: 200, subject: 'alice', upstream: { url: 'http://backend.internal:8080/v1/q1', headers: { 'X-User': 'alice' } } } },
        { name: 'denied', request: { url: 'http://api.test/reports/q1', cookies: { sid: 'bob-session' } }, expect: { status: 403, rule: 'reports', error_handler: 'json', error: 'GATEHOUSE_ERR_FORBIDDEN' } },
        { name: 'no session', request: { url: 'http://api.test/reports/q1', cookies: { sid: 'stale' } }, expect: { status: 302, error_handler: 'redirect', redirect: 'http://login.test/signin' } },
      ],
    },
  })
  const r = byName(await runDir(d))
  for (const n of ['allowed', 'denied', 'no session']) t.ok(passed(r[n]!), `${n}: ${JSON.stringify(r[n])}`)
})

t.test('the request body reaches a remote authorizer; a form-encoded string body is sent as is', async (t) => {
  const d = dir(t, {
    'uploads.yml': [rule('uploads', 'uploads', { authenticators: [{ handler: 'anonymous' }], authorizer: { handler: 'remote', config: { remote: 'http://authz.test/body' } } })],
    'uploads.test.yml': {
      fixtures: {
        http: [
          { request: { method: 'POST', url: 'http://authz.test/body', json: { doc: { public: true } } }, response: { status: 200 } },
          { request: { method: 'POST', url: 'http://authz.test/body', form: { doc: 'public' } }, response: { status: 200 } },
          { request: { method: 'POST', url: 'http://authz.test/body' }, response: { status: 403 } },
        ],
      },
      cases: [
        { name: 'json allowed', request: { method: 'POST', url: 'http://api.test/uploads/x', body: { doc: { public: true, size: 3 } } }, expect: { status: 200, upstream: { headers: { 'content-type': 'application/json', 'content-length': '32' } } } },
        { name: 'json denied', request: { method: 'POST', url: 'http://api.test/uploads/x', body: { doc: { public: false } } }, expect: { status: 403 } },
        { name: 'form allowed', request: { method: 'POST', url: 'http://api.test/uploads/x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'doc=public' }, expect: { status: 200 } },
      ],
    },
  })
  const r = byName(await runDir(d))
  for (const n of ['json allowed', 'json denied', 'form allowed']) t.ok(passed(r[n]!), `${n}: ${JSON.stringify(r[n])}`)
})

t.test('as the proxy: X-Forwarded-* from an untrusted client never reach the handlers or the upstream', async (t) => {
  const mutators = [{ handler: 'header', config: { headers: { 'X-Seen': 'xff={{ .MatchContext.Header.Get "X-Forwarded-For" }}' } } }]
  const d = dir(t, {
    'fwd.yml': [rule('fwd', 'fwd', { authenticators: [{ handler: 'anonymous' }], mutators })],
    'fwd.test.yml': {
      cases: [
        {
          name: 'spoofed',
          request: { url: 'http://api.test/fwd/x', remote_ip: '10.0.0.7', headers: { 'X-Forwarded-For': '1.2.3.4' } },
          expect: { status: 200, upstream: { headers: { 'X-Seen': 'xff=', 'X-Forwarded-For': '10.0.0.7' } } },
        },
      ],
    },
  })
  const r = byName(await runDir(d))
  t.ok(passed(r.spoofed!), JSON.stringify(r.spoofed))
})

t.test('a case file with a mistake is refused, naming the file and the place', async (t) => {
  const d = dir(t, { 'x.test.yml': { cases: [{ name: 'typo', request: { url: 'http://a.test/' }, expect: { stauts: 200 } }] } })
  await t.rejects(readCaseFile(join(d, 'x.test.yml')), /x\.test\.yml: \/cases\/0\/expect must NOT have additional properties/)
})

t.test('rules/ directories hold cases without the gateway loading them as rules', async (t) => {
  const specs = await loadSpecs(['rules'])
  t.same(specs.map((s) => s.source).filter((s) => s.includes('.test.')), [])
})

t.test('JUnit report parses as XML, one testsuite per file, failures carry the diff', async (t) => {
  const xml = junit([
    { file: 'rules/a.test.yml', name: 'ok <one> & "two"', ms: 3, diffs: [] },
    { file: 'rules/a.test.yml', name: 'bad', ms: 4, diffs: [{ field: 'status', expected: 401, actual: 200 }], reason: 'x < y' },
  ])
  t.equal(XMLValidator.validate(xml), true)
  t.match(tapLine({ file: 'f', name: 'two\nlines # x', ms: 1, diffs: [], problem: 'a\nb' }, 1), /^not ok 1 - f: two lines \\# x\n {2}---\n.*\n {2}diff: \|\n {4}problem: a\n {4}b\n {2}\.\.\.\n$/)
  const doc = new XMLParser({ ignoreAttributes: false }).parse(xml)
  const suite = doc.testsuites.testsuite
  t.equal(suite['@_name'], 'rules/a.test.yml')
  t.equal(suite['@_failures'], '1')
  t.equal(suite.testcase[0]['@_name'], 'ok <one> & "two"')
  t.match(suite.testcase[1].failure['#text'], /- status: 401\n\+ status: 200/)
})

t.test('CLI: the example rules pass their cases; a wrong case fails with a diff, exit 1, and a JUnit file', async (t) => {
  const ok = await run(['rules', 'test', '-c', 'config/quickstart.yml', 'rules'], { timeoutMs: 60_000 })
  t.equal(ok.code, 0, 'exit 0')
  if (ok.code !== 0) t.comment(ok.stdout + ok.stderr)
  t.match(ok.stdout, /^TAP version 14\n1\.\.(\d+)\n/)
  t.notMatch(ok.stdout, /^not ok/m)
  // Every example rule has at least one case that matched it.
  const ids = (await loadSpecs(['rules'])).map((s) => s.spec.id)
  const files = await Promise.all((await findCaseFiles(['rules'])).map(readCaseFile))
  const tested = new Set(files.flatMap((f) => f.cases.map((c) => c.expect.rule)))
  for (const id of ids) t.ok(tested.has(id), `rule ${id} has a case`)

  const d = dir(t, {
    'public.test.yml': readFileSync('rules/public.test.yml', 'utf8').replace('X-User: guest', 'X-User: admin'),
  })
  const report = join(d, 'report.xml')
  const bad = await run(['rules', 'test', '-c', 'config/quickstart.yml', '--junit', report, 'rules/public.yml', d], { timeoutMs: 60_000 })
  t.equal(bad.code, 1, 'exit 1')
  t.match(bad.stdout, /not ok 1 - .*public\.test\.yml: anyone may read a public page, as guest\n {2}---\n/)
  t.match(bad.stdout, /- upstream\.headers\.X-User: "admin"\n\s+\+ upstream\.headers\.X-User: "guest"/)
  t.match(bad.stdout, /# 2 passed, 1 failed/)
  // What a TAP consumer reads: the plan, the counts and the diff as the failure's diagnostic.
  const parsed = await new Promise<FinalResults>((resolve) => new Parser(resolve).end(bad.stdout))
  t.match(parsed, { ok: false, count: 3, pass: 2, fail: 1, plan: { start: 1, end: 3 } })
  t.match(parsed.failures[0]?.diag, { diff: /- upstream\.headers\.X-User: "admin"\n\+ upstream\.headers\.X-User: "guest"/ })
  t.equal(XMLValidator.validate(readFileSync(report, 'utf8')), true)
})

t.test("README's example case file passes against the example rules", async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const example = /### Testing rules\n[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1]
  if (example === undefined) return t.fail('no yaml block under "### Testing rules"')
  const d = dir(t, { 'oauth2.test.yml': example })
  const results = await runDir(d, ['rules/oauth2.yml'], loadGatewayConfig(['config/quickstart.yml']))
  t.equal(results.length, 3)
  for (const r of results) t.ok(passed(r), `${r.name}: ${JSON.stringify(r)}`)
})
