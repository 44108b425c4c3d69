import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../src/errors.js'
import { buildGatewayConfig, globalConfigSchema, loadGatewayConfig } from '../src/pipeline/handler-settings.js'
import { validateRuleFiles } from '../src/rules/validate.js'
import { ROOT } from './helpers/cli.js'

// The handler sections of the gateway config are checked at load time (start-up), against the
// registries: unknown ids and what is wrong in an enabled handler's global config whatever the
// rules say. What a rule may still supply (required keys) is checked per rule.

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

function writeFile(t: Test, name: string, content: string): string {
  const path = join(t.testdir(), name)
  writeFileSync(path, content)
  return path
}

t.test('unknown handler ids and typos in global handler config: every one, with file, key path and the known ids', async (t) => {
  const f = writeFile(t, 'gw.yml', `
authenticators:
  anonymus: { enabled: true }
  jwt:
    enabled: true
    config:
      jwks_urlz: [http://127.0.0.1/jwks.json]
      allowed_algorithms: RS256
mutators:
  headers: { enabled: true }
authorizers:
  allow: { enabled: true, config: { verbose: true } }
errors:
  handlers:
    jsn: { enabled: true }
    json: { enabled: true, config: { when: [{ error: [nope] }] } }
serve:
  proxy:
    port: nope
`)
  const problems = problemsOf(t, () => loadGatewayConfig([f], {}))
  const of = (prefix: string): string | undefined => problems.find((p) => p.startsWith(prefix))
  t.match(of('authenticators.anonymus:'), /unknown authenticator id \(known: noop, anonymous, .*oauth2_introspection.*\) \[in .*gw\.yml\]/)
  t.match(of('authenticators.jwt.config.jwks_urlz:'), /unknown key \(known: jwks_urls, .*\) \[in .*gw\.yml\]/)
  t.match(of('authenticators.jwt.config.allowed_algorithms:'), /must be array/)
  t.match(of('mutators.headers:'), /unknown mutator id \(known: .*\bheader\b.*\)/)
  t.match(of('authorizers.allow.config.verbose:'), /unknown key \(none are allowed here\)/)
  t.match(of('errors.handlers.jsn:'), /unknown error handler id \(known: json, .*\)/)
  t.match(of('errors.handlers.json.config.when.0.error.0:'), /must be one of unauthorized/)
  t.ok(of('serve.proxy.port:'), 'other config problems are listed in the same run')
  t.equal(problems.length, 8, 'exactly these problems')
  t.notOk(problems.some((p) => /"then"/.test(p)), 'no if/then noise')
})

t.test('a global config that a rule completes is valid at start-up (jwks_urls, introspection_url per rule)', async (t) => {
  const c = buildGatewayConfig({
    authenticators: {
      jwt: { enabled: true, config: { allowed_algorithms: ['ES256'] } },
      oauth2_introspection: { enabled: true, config: { pre_authorization: { enabled: true, client_id: 'c' } } },
    },
    mutators: { id_token: { enabled: true } },
  }, {})
  t.same(c.authenticators.jwt, { enabled: true, config: { allowed_algorithms: ['ES256'] } }, 'handler defaults are not filled into the global config')
})

t.test('a disabled handler is checked too (stricter than Oathkeeper: a typo is a typo)', async (t) => {
  const problems = problemsOf(t, () => buildGatewayConfig({ authenticators: { jwt: { enabled: false, config: { jwks_urlz: 1 } } } }, {}))
  t.match(problems, [/^authenticators\.jwt\.config\.jwks_urlz: unknown key/])
})

t.test('the env variables of handler keys still work, typed by the handler schema', async (t) => {
  const c = buildGatewayConfig({}, {
    AUTHENTICATORS_ANONYMOUS_ENABLED: 'true',
    AUTHENTICATORS_ANONYMOUS_CONFIG_SUBJECT: 'guest',
    AUTHENTICATORS_JWT_ENABLED: 'true',
    AUTHENTICATORS_JWT_CONFIG_JWKS_URLS: 'http://a/jwks.json,http://b/jwks.json',
    AUTHENTICATORS_OAUTH2_INTROSPECTION_CONFIG_CACHE_TTL: '1m',
    AUTHENTICATORS_ANONYMUS_ENABLED: 'true',
  })
  t.same(c.authenticators.oauth2_introspection?.config, { cache: { ttl: '1m' } }, 'nested keys reach their place')
  t.notOk('anonymus' in c.authenticators, 'a variable that names no handler is ignored, like any unrelated variable')
  t.same(c.authenticators.anonymous, { enabled: true, config: { subject: 'guest' } })
  t.same(c.authenticators.jwt?.config, { jwks_urls: ['http://a/jwks.json', 'http://b/jwks.json'] })
})

t.test('globalConfigSchema drops required in merged objects, keeps it in array items and conditions', async (t) => {
  const s = globalConfigSchema({
    type: 'object',
    required: ['a'],
    properties: {
      a: { type: 'string', default: 'x' },
      o: { type: 'object', required: ['b'], properties: { b: { type: 'string' } } },
      list: { type: 'array', items: { type: 'object', required: ['c'], properties: { c: { type: 'string' } } } },
      required: { type: 'string' },
    },
    if: { type: 'object', properties: { a: { const: 'y' } }, required: ['a'] },
    then: { type: 'object', required: ['o'] },
  })
  t.same(s, {
    type: 'object',
    properties: {
      a: { type: 'string' },
      o: { type: 'object', properties: { b: { type: 'string' } } },
      list: { type: 'array', items: { type: 'object', required: ['c'], properties: { c: { type: 'string' } } } },
      required: { type: 'string' },
    },
    if: { type: 'object', properties: { a: { const: 'y' } }, required: ['a'] },
    then: { type: 'object' },
  })
})

t.test('rule validation lists every problem of a rule, not only the first', async (t) => {
  const f = writeFile(t, 'rules.yml', `
- id: many
  match: { url: 'http://x/<[' }
  upstream: { url: 'ftp://x' }
  authenticators: [{ handler: jwt }, { handler: nope }]
  authorizer: { handler: deny, config: { x: 1 } }
  mutators: [{ handler: headers }]
  errors: [{ handler: jsn }]
- id: next
  match: { url: 'http://x/next' }
  authenticators: [{ handler: noop }]
`)
  const config = buildGatewayConfig({
    authenticators: { noop: { enabled: true }, jwt: { enabled: true } },
    authorizers: { deny: { enabled: true } },
  }, {})
  const problems = await validateRuleFiles([f], config)
  const many = problems.filter((p) => p.includes('rule "many"'))
  t.match(many, [
    /match\.url: invalid pattern/,
    /upstream\.url must be http or https/,
    /authenticators\[0\]: jwt config: must have required property 'jwks_urls' \(set it in the rule's config or in the gateway config under authenticators\.jwt\.config\)/,
    /authenticators\[1\]: unknown authenticator "nope"/,
    /authorizer: deny config: must NOT have additional properties "x"/,
    /mutators\[0\]: unknown mutator "headers"/,
    /errors\[0\]: unknown error handler "jsn"/,
  ], 'one line per problem, in rule order')
  t.equal(many.length, 7, 'nothing else')
  t.match(problems.filter((p) => p.includes('rule "next"')), [/an authorizer must be set/, /at least one mutator must be set/])
})

t.test('every shipped gateway config passes the handler checks', async (t) => {
  for (const files of [['config/quickstart.yml'], ['config/gateway.yml'], ['config/quickstart.yml', 'config/compose-gateway.yml'], ['deploy/kubernetes/gateway.yml']]) {
    t.doesNotThrow(() => loadGatewayConfig(files.map((f) => join(ROOT, f)), {}), files.join(' + '))
  }
})
