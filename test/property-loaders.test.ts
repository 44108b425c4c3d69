import t from 'tap'
import fc from 'fast-check'
import { pino } from 'pino'
import { Agent } from 'undici'
import { stringify as toYaml } from 'yaml'
import { buildConfig } from '../src/config/load.js'
import type { GatehouseConfig } from '../src/config/types.js'
import { ConfigError } from '../src/errors.js'
import { HandlerConfigs } from '../src/pipeline/handler-config.js'
import { createRegistries } from '../src/pipeline/registries.js'
import { SharedResources } from '../src/pipeline/shared.js'
import { compileRule, type CompileContext } from '../src/rules/compile.js'
import { parseRuleDocument } from '../src/rules/parse.js'
import type { RuleSpec } from '../src/rules/types.js'

// Property tests for what reads operator input: rule documents (YAML/JSON, Oathkeeper rules or
// Kubernetes manifests) and the gateway config (object and environment). Any input gives a
// result or a ConfigError listing its problems; never another exception, never a hang.

/** Longest one load may take (buildConfig compiles its schema each time: a few ms). */
const LOAD_BOUND_MS = 500

/** Runs `fn`, allowing only a value or a ConfigError with at least one problem, within the bound. */
function loaded<T>(what: string, fn: () => T): T | ConfigError {
  const started = performance.now()
  let out: T | ConfigError
  try {
    out = fn()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw new Error(`${what} threw ${String(err)}, not a ConfigError`)
    if (err.problems.length === 0 || err.problems.some((p) => typeof p !== 'string' || p === '')) throw new Error(`${what}: a ConfigError without its problems`)
    out = err
  }
  const ms = performance.now() - started
  if (ms > LOAD_BOUND_MS) throw new Error(`${what} took ${ms.toFixed(0)} ms`)
  return out
}

// ---------------------------------------------------------------------------------------------
// Rule documents

const SOURCE = 'rules/prop.yml'

/** parseRuleDocument's contract: frozen specs with unique ids, or problems naming the file. */
function parsed(text: string): RuleSpec[] | ConfigError {
  const out = loaded(`parsing ${JSON.stringify(text.slice(0, 200))}`, () => parseRuleDocument(text, SOURCE))
  if (out instanceof ConfigError) {
    const stray = out.problems.find((p) => !p.startsWith(`${SOURCE}: `))
    if (stray !== undefined) throw new Error(`a problem that does not name the file: ${stray}`)
    return out
  }
  if (!Object.isFrozen(out) || out.some((r) => !Object.isFrozen(r))) throw new Error('the specs are not frozen')
  if (new Set(out.map((r) => r.id)).size !== out.length) throw new Error('duplicate ids were accepted')
  return out
}

// A compile context whose handlers never reach the network (no jwt, no introspection).
const config = buildConfig(
  {
    authenticators: { noop: { enabled: true }, anonymous: { enabled: true }, unauthorized: { enabled: true } },
    authorizers: { allow: { enabled: true }, deny: { enabled: true } },
    mutators: { noop: { enabled: true }, header: { enabled: true, config: { headers: {} } } },
    errors: { fallback: ['json'], handlers: { json: { enabled: true, config: {} } } },
  },
  {},
)
const http = new Agent()
const shared = new SharedResources()
t.teardown(async () => {
  await shared.close()
  await http.close()
})
function context(strategy: GatehouseConfig['access_rules']['matching_strategy']): CompileContext {
  return { handlers: new HandlerConfigs(config, createRegistries()), strategy, deps: { logger: pino({ level: 'silent' }), http, shared } }
}
const contexts = { regexp: context('regexp'), glob: context('glob') }

// YAML syntax glued together at random: anchors, aliases, tags, merge keys, flow and block style.
const yamlFragment = fc.oneof(
  fc.constantFrom('- ', ': ', '\n', '  ', '{', '}', '[', ']', ',', '"', "'", '#', '|', '>', '---\n', '...\n', '? ', '%YAML 1.2\n'),
  fc.constantFrom('&a ', '*a', '&b ', '*b', '<<: *a', '!!str ', '!!int ', '!!binary ', '!!set ', '!!omap ', '!custom ', '!!js/function '),
  fc.constantFrom('id', 'match', 'url', 'methods', 'upstream', 'authenticators', 'authorizer', 'mutators', 'errors', 'handler', 'config', 'apiVersion', 'kind', 'Rule', 'List', 'spec', 'metadata', 'items'),
  fc.constantFrom('null', '~', 'true', '0x1F', '1e400', '.nan', '-.inf', '2001-12-14', 'http://a.test/<.*>'),
  fc.string({ maxLength: 6 }),
)
const yamlSoup = fc.array(yamlFragment, { maxLength: 40 }).map((parts) => parts.join(''))

t.test('any text parses to rule specs or a ConfigError naming the file', async (t) => {
  fc.assert(fc.property(fc.oneof(yamlSoup, fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 })), (text) => void parsed(text)), { numRuns: 1000 })
})

t.test('any JSON value, written as JSON or YAML, parses to rule specs or a ConfigError', async (t) => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
      const json = parsed(JSON.stringify(value) ?? 'null')
      const yaml = parsed(toYaml(value))
      // The same value must be judged the same whichever syntax carries it.
      if (json instanceof ConfigError !== yaml instanceof ConfigError) throw new Error(`JSON and YAML disagree on ${JSON.stringify(value)}`)
    }),
    { numRuns: 400 },
  )
})

// Rule-shaped documents with valid and hostile parts mixed: these get past the schema often enough
// to reach the rule compiler (matchers, handler configs, templates) with odd values.
const anyValue = fc.oneof({ weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) })
/** Mostly a well-formed value, sometimes anything at all. */
const mostly = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: anyValue })
const urlPattern = fc.oneof(
  fc.constantFrom('http://a.test/<.*>', 'http://a.test/x', '<https?>://<[a-z]+>.test/<**>', 'http://a.test/<(a+)+>', 'http://a.test/<[a-z>', 'http://a.test/<{a,b}/*>', ''),
  fc.string({ unit: fc.constantFrom(...'<>()[]{}*+?.|\\/:ahtps'), maxLength: 24 }),
)
const handlerConfig = fc.oneof(
  { weight: 6, arbitrary: fc.constant({}) },
  { weight: 3, arbitrary: fc.record({ headers: fc.dictionary(fc.constantFrom('X-User', 'X-Bad Name', 'x-a'), fc.oneof(fc.constantFrom('{{ print .Subject }}', '{{ .Extra.a', '{{ nope }}', 'plain'), fc.string({ maxLength: 8 }))) }) },
  { weight: 1, arbitrary: fc.record({ subject: anyValue }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 5 }), anyValue, { maxKeys: 2 }) },
)
const handlerRef = (ids: readonly string[]) =>
  mostly(fc.record({ handler: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...ids) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) }), config: handlerConfig }, { requiredKeys: ['handler'] }))
const rule = fc
  .record(
    {
      id: mostly(fc.constant('r')),
      match: mostly(fc.record({ url: urlPattern, methods: fc.array(fc.constantFrom('GET', 'post', 'PATCH', ''), { maxLength: 3 }) }, { requiredKeys: ['url'] })),
      upstream: mostly(fc.record({ url: fc.constantFrom('http://127.0.0.1:9', 'http://127.0.0.1:9/base', 'not a url', 'ftp://x'), preserve_host: mostly(fc.boolean()), strip_path: fc.constantFrom('/api', 'api', '', '/') }, { requiredKeys: ['url'] })),
      authenticators: mostly(fc.array(handlerRef(['noop', 'anonymous', 'unauthorized', 'jwt']), { minLength: 1, maxLength: 2 })),
      authorizer: handlerRef(['allow', 'deny', 'remote']),
      mutators: mostly(fc.array(handlerRef(['noop', 'header', 'id_token']), { minLength: 1, maxLength: 2 })),
      errors: mostly(fc.array(handlerRef(['json', 'redirect']), { maxLength: 1 })),
    },
    { requiredKeys: ['id', 'match', 'authenticators', 'authorizer', 'mutators'] },
  )
  .chain((r) => fc.oneof({ weight: 9, arbitrary: fc.constant(r) }, { weight: 1, arbitrary: anyValue.map((v) => ({ ...r, unknown_key: v })) }))
/** Up to three rules; string ids are made distinct (a duplicate id refuses the whole file). */
const ruleList = fc.array(rule, { maxLength: 3 }).map((rs) => rs.map((r, i) => (typeof r.id === 'string' ? { ...r, id: `${r.id}${i}` } : r)))
const manifest = rule.map((spec) => ({ apiVersion: 'oathkeeper.ory.sh/v1alpha1', kind: 'Rule', metadata: { name: 'm', namespace: 'ns' }, spec }))

t.test('rule-shaped documents parse and compile to rules or ConfigErrors', async (t) => {
  let compiled = 0
  let refused = 0
  fc.assert(
    fc.property(fc.oneof(ruleList, manifest), fc.constantFrom('regexp', 'glob') as fc.Arbitrary<'regexp' | 'glob'>, fc.boolean(), (doc, strategy, asJson) => {
      const specs = parsed(asJson ? JSON.stringify(doc) : toYaml(doc))
      if (specs instanceof ConfigError) {
        if (process.env.DEBUG_PROP) console.log('PARSE', specs.problems.join(' | '))
        return
      }
      for (const spec of specs) {
        const r = loaded(`compiling ${JSON.stringify(spec)}`, () => compileRule(spec, SOURCE, contexts[strategy]))
        if (r instanceof ConfigError) {
          refused++
          if (process.env.DEBUG_PROP) console.log(r.message)
        } else compiled++
      }
    }),
    { numRuns: 600 },
  )
  t.ok(compiled > 20, `${compiled} rules compiled`)
  t.ok(refused > 20, `${refused} rules refused with a ConfigError`)
})

t.test('YAML that toJS cannot resolve is a ConfigError, not an exception', async (t) => {
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdef'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdef'[i]}`).join(',')}]`)].join('\n')
  const cases: [name: string, text: string, problem: RegExp][] = [
    ['an alias to an anchor never set', '- *x', /rules\/prop\.yml: .*alias/i],
    ['a merge key from an unknown anchor', '- <<: *x', /alias/i],
    ['an alias bomb', bomb, /alias count/i],
  ]
  for (const [name, text, problem] of cases) {
    const r = parsed(text)
    if (!(r instanceof ConfigError)) t.fail(`${name}: accepted`)
    else t.match(r.problems.join('\n'), problem, name)
  }
  t.ok(parsed('['.repeat(20000) + ']'.repeat(20000)) instanceof ConfigError, 'nesting deeper than the stack')
})

// ---------------------------------------------------------------------------------------------
// Gateway config

const duration = fc.oneof(fc.constantFrom('5s', '1m30s', '300ms', '1.5h', '0s', '-1s', '5', '', 's', '1d', '9999999999h'), fc.string({ maxLength: 5 }))
const handlerMap = fc.dictionary(
  fc.constantFrom('noop', 'jwt', 'header', 'json', 'nope', '__proto__', 'constructor'),
  fc.oneof(fc.record({ enabled: fc.oneof(fc.boolean(), anyValue), config: fc.oneof(fc.constant({}), anyValue) }, { requiredKeys: [] }), anyValue),
  { maxKeys: 3 },
)
const configObject = fc.record(
  {
    serve: fc.oneof(
      fc.record(
        {
          proxy: fc.record(
            {
              host: anyValue,
              port: fc.oneof(fc.integer({ min: -10, max: 70000 }), anyValue),
              timeout: fc.record({ read: duration, write: duration, idle: duration }, { requiredKeys: [] }),
              trust_forwarded_headers: fc.oneof(fc.boolean(), anyValue),
              workers: fc.oneof(fc.constantFrom(1, 4, 'auto', 0, 2000, 'many'), anyValue),
            },
            { requiredKeys: [] },
          ),
          api: fc.record({ host: anyValue, port: anyValue }, { requiredKeys: [] }),
          shutdown_grace: duration,
        },
        { requiredKeys: [] },
      ),
      anyValue,
    ),
    access_rules: fc.record({ repositories: fc.oneof(fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }), anyValue), matching_strategy: fc.constantFrom('regexp', 'glob', 'regex', 1), repository_poll_interval: duration }, { requiredKeys: [] }),
    authenticators: handlerMap,
    authorizers: handlerMap,
    mutators: handlerMap,
    errors: fc.record({ fallback: fc.oneof(fc.array(fc.constantFrom('json', 'redirect', ''), { maxLength: 2 }), anyValue), handlers: handlerMap }, { requiredKeys: [] }),
    log: fc.record({ level: fc.constantFrom('info', 'debug', 'loud', ''), format: fc.constantFrom('json', 'text', 'xml') }, { requiredKeys: [] }),
    version: anyValue,
    serve_typo: anyValue,
  },
  { requiredKeys: [] },
)

/** buildConfig's contract: a frozen config or problems; the input object is left untouched. */
function built(raw: unknown, env: NodeJS.ProcessEnv = {}): GatehouseConfig | ConfigError {
  const before = JSON.stringify(raw)
  const out = loaded(`buildConfig(${before?.slice(0, 200)})`, () => buildConfig(raw, env))
  if (JSON.stringify(raw) !== before) throw new Error('buildConfig changed its input')
  if (!(out instanceof ConfigError) && !Object.isFrozen(out.serve.proxy)) throw new Error('the config is not frozen')
  return out
}

t.test('any value given as config gives a config or a ConfigError listing problems', async (t) => {
  let valid = 0
  fc.assert(
    fc.property(fc.oneof({ weight: 3, arbitrary: configObject }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }), (raw) => {
      if (!(built(raw) instanceof ConfigError)) valid++
    }),
    { numRuns: 120 },
  )
  t.ok(valid > 5, `${valid} configs were valid`)
})

const ENV_NAMES = [
  'SERVE_PROXY_PORT', 'SERVE_PROXY_HOST', 'SERVE_PROXY_TIMEOUT_READ', 'SERVE_PROXY_TRUST_FORWARDED_HEADERS', 'SERVE_PROXY_WORKERS',
  'ACCESS_RULES_REPOSITORIES', 'ACCESS_RULES_MATCHING_STRATEGY', 'AUTHENTICATORS_JWT', 'AUTHENTICATORS_JWT_ENABLED',
  'AUTHENTICATORS_JWT_CONFIG_JWKS_URLS', 'AUTHENTICATORS_OAUTH2_INTROSPECTION_CONFIG_INTROSPECTION_URL', 'MUTATORS_HEADER_CONFIG',
  'ERRORS_FALLBACK', 'LOG_LEVEL', 'LOG_FORMAT', 'SERVE', 'AUTHENTICATORS', 'A_B_C_D_E_F_G_H_I_J_K_L_M_N_O_P',
]
const envValue = fc.oneof(fc.constantFrom('8080', '-1', 'true', 'no', '["a"]', '{"enabled":true}', '{', '5s', 'auto', '', ' ', 'null'), fc.string({ maxLength: 12 }))
const envName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ENV_NAMES) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom('SERVE', 'PROXY', 'AUTHENTICATORS', 'JWT', 'CONFIG', 'X', '', 'TRUST', 'FORWARDED'), { minLength: 1, maxLength: 14 }).map((p) => p.join('_')) },
)

t.test('any environment gives a config or a ConfigError listing problems', async (t) => {
  fc.assert(fc.property(fc.dictionary(envName, envValue, { maxKeys: 5 }), (env) => void built({}, env)), { numRuns: 100 })
})

t.test('a "__proto__" key in a config file reaches no prototype', async (t) => {
  const raw: unknown = JSON.parse('{"__proto__":{"polluted":true},"serve":{"__proto__":{"polluted":true}},"authenticators":{"__proto__":{"enabled":true}}}')
  built(raw)
  const probe: Record<string, unknown> = {}
  t.equal(probe.polluted, undefined, 'Object.prototype is untouched')
  t.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'enabled'), false)
})
