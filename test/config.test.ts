import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildConfig, loadConfig } from '../src/config/load.js'
import { envOverrides } from '../src/config/env.js'
import { parseDuration } from '../src/config/duration.js'
import { DEFAULTS } from '../src/config/defaults.js'
import { ConfigError } from '../src/errors.js'

/** Writes `files` (name → content) into a fresh test directory and returns their paths. */
function write(t: Test, files: Record<string, string>): string[] {
  const dir = t.testdir()
  return Object.entries(files).map(([name, content]) => {
    const path = join(dir, name)
    writeFileSync(path, content)
    return path
  })
}

/** The problems of the ConfigError thrown by `fn` (fails the test when nothing is thrown). */
function problemsOf(t: Test, fn: () => unknown): readonly string[] {
  try {
    fn()
  } catch (err) {
    t.type(err, ConfigError)
    return (err as ConfigError).problems
  }
  t.fail('expected a ConfigError')
  return []
}

t.test('defaults are applied to an empty config (Oathkeeper values)', async (t) => {
  const c = buildConfig({}, {})
  t.same(c, DEFAULTS)
  t.has(c.serve.proxy, { host: '', port: 4455, timeout: { read: '5s', write: '120s', idle: '120s' }, trust_forwarded_headers: false })
  t.same(c.serve.proxy.upstream, { max_connections: 256, max_queued: 1024 }, 'Gatehouse keys: bounded upstream pools')
  t.same(c.serve.proxy.cors, {
    enabled: false,
    allowed_origins: ['*'],
    allowed_methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowed_headers: ['Authorization', 'Content-Type'],
    exposed_headers: ['Content-Type'],
    allow_credentials: false,
    max_age: 0,
    debug: false,
  })
  t.same(c.serve.api.cors, c.serve.proxy.cors)
  t.same(c.serve.prometheus, { host: '', port: 9000, metrics_path: '/metrics' })
  t.equal(c.serve.api.port, 4456)
  t.same(c.access_rules, { repositories: [], matching_strategy: 'regexp', precedence: 'exclusive', repository_poll_interval: '30s' })
  t.same(c.errors, { fallback: ['json'], handlers: { json: { enabled: true, config: {} } } })
  t.same(c.log, { level: 'info', format: 'json' })
})

t.test('handler entries default to disabled with empty config', async (t) => {
  const c = buildConfig({ authenticators: { jwt: {}, anonymous: { enabled: true } }, errors: { handlers: { redirect: { enabled: true } } } }, {})
  t.same(c.authenticators, { jwt: { enabled: false, config: {} }, anonymous: { enabled: true, config: {} } })
  t.same(c.errors.handlers.json, { enabled: true, config: {} }, 'json handler stays enabled next to a new one')
  t.same(c.errors.handlers.redirect, { enabled: true, config: {} })
})

t.test('later file overrides earlier: objects merged, arrays replaced', async (t) => {
  const [a, b] = write(t, {
    'a.yml': 'serve:\n  proxy:\n    port: 1111\n    host: 127.0.0.1\naccess_rules:\n  repositories: [file:///a.yml, file:///b.yml]\n',
    'b.yml': 'serve:\n  proxy:\n    port: 2222\naccess_rules:\n  repositories: [file:///c.yml]\n',
  })
  const c = loadConfig([a!, b!], {})
  t.equal(c.serve.proxy.port, 2222)
  t.equal(c.serve.proxy.host, '127.0.0.1', 'key only in the earlier file is kept')
  t.same(c.access_rules.repositories, ['file:///c.yml'])
})

t.test('YAML and JSON files both load, and layer over each other', async (t) => {
  const [y, j] = write(t, {
    'base.yaml': '# comment\nlog:\n  level: debug\nauthenticators:\n  anonymous:\n    enabled: true\n',
    'over.json': JSON.stringify({ log: { format: 'text' }, access_rules: { matching_strategy: 'glob' } }),
  })
  const c = loadConfig([y!, j!], {})
  t.same(c.log, { level: 'debug', format: 'text' })
  t.equal(c.access_rules.matching_strategy, 'glob')
  t.equal(c.authenticators.anonymous?.enabled, true)
})

t.test('empty YAML keys and empty files mean "nothing here"', async (t) => {
  const [empty, nulls] = write(t, { 'empty.yml': '# nothing yet\n', 'nulls.yml': 'mutators:\nauthenticators:\n  noop:\n    enabled: true\n    config:\n' })
  const c = loadConfig([empty!, nulls!], {})
  t.same(c.mutators, {})
  t.same(c.authenticators.noop, { enabled: true, config: {} })
})

t.test('env overrides: ports, lists, booleans, levels, handler ids with underscores', async (t) => {
  const env = {
    SERVE_PROXY_PORT: '4466',
    ACCESS_RULES_REPOSITORIES: 'file:///a.yml, file:///b.json',
    ACCESS_RULES_MATCHING_STRATEGY: 'glob',
    SERVE_PROXY_TRUST_FORWARDED_HEADERS: 'true',
    SERVE_PROXY_UPSTREAM_MAX_QUEUED: '0',
    LOG_LEVEL: 'debug',
    AUTHENTICATORS_ANONYMOUS_ENABLED: 'true',
    AUTHENTICATORS_OAUTH2_INTROSPECTION_CONFIG_INTROSPECTION_URL: 'http://hydra:4445/admin/oauth2/introspect',
    ERRORS_FALLBACK: 'json',
    ERRORS_HANDLERS_REDIRECT: '{"enabled":true,"config":{"to":"http://login"}}',
  }
  t.same(envOverrides(env), {
    serve: { proxy: { port: 4466, trust_forwarded_headers: true, upstream: { max_queued: 0 } } },
    access_rules: { repositories: ['file:///a.yml', 'file:///b.json'], matching_strategy: 'glob' },
    log: { level: 'debug' },
    authenticators: {
      anonymous: { enabled: true },
      oauth2_introspection: { config: { introspection_url: 'http://hydra:4445/admin/oauth2/introspect' } },
    },
    errors: { fallback: ['json'], handlers: { redirect: { enabled: true, config: { to: 'http://login' } } } },
  })
})

t.test('env wins over files; unrelated variables are ignored', async (t) => {
  const [f] = write(t, { 'c.yml': 'serve:\n  proxy:\n    port: 1111\naccess_rules:\n  repositories: [rules]\n' })
  const c = loadConfig([f!], {
    SERVE_PROXY_PORT: '4466',
    ACCESS_RULES_REPOSITORIES: 'file:///a.yml,file:///b.json',
    AUTHENTICATORS_ANONYMOUS_ENABLED: 'true',
    PATH: '/usr/bin',
    HOME: '/root',
    LOG_DIR: '/var/log',
    SERVE: 'not json, so not an override',
    serve_proxy_port: '9', // lower case: not a config variable
  })
  t.equal(c.serve.proxy.port, 4466)
  t.same(c.access_rules.repositories, ['file:///a.yml', 'file:///b.json'])
  t.same(c.authenticators.anonymous, { enabled: true, config: {} })
})

t.test('a bad env value is reported with the variable name', async (t) => {
  const problems = problemsOf(t, () => buildConfig({}, { SERVE_API_PORT: 'abc', SERVE_PROXY_TRUST_FORWARDED_HEADERS: 'maybe' }))
  t.same(problems, [
    'serve.proxy.trust_forwarded_headers: must be boolean (got "maybe") [from $SERVE_PROXY_TRUST_FORWARDED_HEADERS]',
    'serve.api.port: must be integer (got "abc") [from $SERVE_API_PORT]',
  ])
})

t.test('bad port, bad strategy and unknown key in one file → 3 problems at once', async (t) => {
  const [f] = write(t, {
    'bad.yml': 'serve:\n  proxy:\n    port: 70000\n    prot: 1\naccess_rules:\n  matching_strategy: regex\n',
  })
  const problems = problemsOf(t, () => loadConfig([f!], {}))
  t.same(problems, [
    `serve.proxy.prot: unknown key (known: host, port, timeout, trust_forwarded_headers, match_forwarded_host, cors, tls, workers, upstream) [in ${f}]`,
    `serve.proxy.port: must be <= 65535 (got 70000) [in ${f}]`,
    `access_rules.matching_strategy: must be one of regexp, glob (got "regex") [in ${f}]`,
  ])
})

t.test('problems name the file that set the bad value', async (t) => {
  const [a, b] = write(t, { 'a.yml': 'log:\n  level: loud\n', 'b.yml': 'log:\n  format: xml\n' })
  const problems = problemsOf(t, () => loadConfig([a!, b!], {}))
  t.same(problems, [
    `log.level: must be one of trace, debug, info, warn, error, fatal, silent (got "loud") [in ${a}]`,
    `log.format: must be one of json, text (got "xml") [in ${b}]`,
  ])
})

t.test('durations, handler envelopes and Oathkeeper-only keys are checked', async (t) => {
  const problems = problemsOf(t, () =>
    buildConfig(
      {
        serve: { proxy: { timeout: { read: 5, write: '5' } }, api: { timeout: { read: '5s' } } },
        access_rules: { repositories: [''] },
        authenticators: { jwt: true, noop: { enable: true } },
      },
      {},
    ),
  )
  t.same(problems, [
    'serve.proxy.timeout.read: must be a duration such as "300ms", "5s", "1m30s" or "1.5h" (got 5)',
    'serve.proxy.timeout.write: must be a duration such as "300ms", "5s", "1m30s" or "1.5h" (got "5")',
    'serve.api.timeout: Oathkeeper key not supported by Gatehouse; remove it',
    'access_rules.repositories.0: must not be empty',
    'authenticators.jwt: must be object (got true)',
    'authenticators.noop.enable: unknown key (known: enabled, config)',
  ])
})

t.test('missing file is named, and other files are still checked', async (t) => {
  const [good] = write(t, { 'good.yml': 'log:\n  level: loud\n' })
  const problems = problemsOf(t, () => loadConfig(['/nonexistent/gatehouse.yml', good!], {}))
  t.same(problems, [
    '/nonexistent/gatehouse.yml: cannot read config file (no such file)',
    `log.level: must be one of trace, debug, info, warn, error, fatal, silent (got "loud") [in ${good}]`,
  ])
})

t.test('bad YAML is named with the file and the line', async (t) => {
  const [f, list] = write(t, { 'broken.yml': 'serve:\n  proxy:\n    port: [4455\n', 'list.yml': '- a\n- b\n' })
  const problems = problemsOf(t, () => loadConfig([f!, list!], {}))
  t.equal(problems.length, 2)
  t.match(problems[0], new RegExp(`^${f}: not valid YAML or JSON: .*line \\d+`))
  t.equal(problems[1], `${list}: must be a mapping of config keys, not a list`)
})

t.test('result is deeply frozen and the input is left untouched', async (t) => {
  const raw = { authenticators: { anonymous: { enabled: true } }, access_rules: { repositories: ['rules'] } }
  const c = buildConfig(raw, {})
  t.throws(() => {
    ;(c.serve.proxy as { port: number }).port = 1
  }, TypeError)
  t.throws(() => (c.access_rules.repositories as string[]).push('x'), TypeError)
  t.throws(() => {
    ;(c.authenticators.anonymous as { enabled: boolean }).enabled = false
  }, TypeError)
  t.notOk(Object.isFrozen(raw.authenticators.anonymous), "caller's object not frozen")
  t.same(raw.authenticators.anonymous, { enabled: true }, "caller's object not given defaults")
  t.same(DEFAULTS.authenticators, {}, 'defaults unchanged')
})

t.test('the example configs in config/ are valid', async (t) => {
  for (const file of ['config/gateway.yml', 'config/quickstart.yml']) {
    t.doesNotThrow(() => loadConfig([file], {}), file)
  }
})

t.test('parseDuration: Go duration strings to milliseconds', async (t) => {
  const cases: [string, number][] = [
    ['300ms', 300],
    ['5s', 5000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['2h45m', 9_900_000],
    ['1500us', 1.5],
    ['1000000ns', 1],
    ['0', 0],
    ['+5s', 5000],
  ]
  for (const [s, ms] of cases) t.equal(parseDuration(s), ms, s)
})

t.test('parseDuration rejects bare numbers, unknown units and garbage', async (t) => {
  for (const s of ['30', '', '5', '1.5', '5 s', '5sec', 'ms', '1d', '-5s', 's5', '5s ', '.s']) {
    t.throws(() => parseDuration(s), { message: /invalid duration/ }, JSON.stringify(s))
  }
  t.throws(() => parseDuration('30'), { message: /missing unit/ })
})
