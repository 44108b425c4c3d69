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
import { cpuMs } from './helpers/cpu-time.js'
import { usePropertySeed } from './helpers/property-seed.js'

// Property tests for what reads operator input: rule documents (YAML/JSON, Oathkeeper rules or
// Kubernetes manifests) and the gateway config (object and environment). Any input gives a
// result or a ConfigError listing its problems; never another exception, never a hang.

usePropertySeed(t)

/** Most CPU time one load may take: buildConfig compiles its schema each time (tens of ms); a hang takes far longer. */
const LOAD_BOUND_MS = 1000

/** Runs `fn`, allowing only a value or a ConfigError with at least one problem, within the bound. */
function loaded<T>(what: string, fn: () => T): T | ConfigError {
  const { value: out, ms } = cpuMs((): T | ConfigError => {
    try {
      return fn()
    } catch (err) {
      if (!(err instanceof ConfigError)) throw new Error(`${what} threw ${String(err)}, not a ConfigError`)
      if (err.problems.length === 0 || err.problems.some((p) => typeof p !== 'string' || p === '')) throw new Error(`${what}: a ConfigError without its problems`)
      return err
    }
  })
  if (ms > LOAD_BOUND_MS) throw new Error(`${what} took ${ms.toFixed(0)} ms of CPU`)
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
  fc.assert(fc.property(fc.oneof(yamlSoup, fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 })), (text) => void parsed(text)), { numRuns: 600 })
})

t.test('any JSON value, written as JSON or YAML, parses to rule specs or a ConfigError', async (t) => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
      const json = parsed(JSON.stringify(value) ?? 'null')
      const yaml = parsed(toYaml(value))
      // The same value must be judged the same whichever syntax carries it.
      if (json instanceof ConfigError !== yaml instanceof ConfigError) throw new Error(`JSON and YAML disagree on ${JSON.stringify(value)}`)
    }),
    { numRuns: 250 },
  )
})

// Rule-shaped documents: each part is well-formed most of the time and occasionally anything at
// all, so that many documents pass the schema and reach the rule compiler (matchers, handler
// configs, templates) with one or two odd values.
const anyValue = fc.oneof({ weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) })
/** `valid` most of the time (`weight` to 1), `odd` (anything at all by default) now and then. */
const mostly = <T>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<unknown> = anyValue, weight = 12): fc.Arbitrary<unknown> => fc.oneof({ weight, arbitrary: valid }, { weight: 1, arbitrary: odd })
/** The same with odd values rarer, for structures with many leaves (the config). */
const rarelyOdd = <T>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<unknown> = anyValue): fc.Arbitrary<unknown> => mostly(valid, odd, 40)
const urlPattern = mostly(
  fc.constantFrom('http://a.test/<.*>', 'http://a.test/x', '<https?>://<[a-z]+>.test/<[a-z]*>', 'http://a.test/<{a,b}>/<*>', 'http://a.test/<[0-9]{2}>'),
  fc.oneof(fc.constantFrom('http://a.test/<(a+)+>', 'http://a.test/<[a-z>', '', 'http://a.test/<(?=a)a>'), fc.string({ unit: fc.constantFrom(...'<>()[]{}*+?.|\\/:ahtps'), maxLength: 24 })),
)
const headerTemplates = fc.dictionary(
  mostly(fc.constantFrom('X-User', 'x-a', 'X-Path'), fc.constantFrom('X-Bad Name', '', 'x:y')) as fc.Arbitrary<string>,
  mostly(fc.constantFrom('{{ print .Subject }}', 'plain', '{{ index .MatchContext.RegexpCaptureGroups 0 }}'), fc.oneof(fc.constantFrom('{{ .Extra.a', '{{ nope }}', '{{ end }}'), fc.string({ maxLength: 8 }))),
  { maxKeys: 2 },
)
/** Handler ids with a config each accepts; now and then a wrong id or a config the handler refuses. */
const handlerRef = (handlers: Readonly<Record<string, fc.Arbitrary<unknown>>>) =>
  mostly(
    fc.constantFrom(...Object.keys(handlers)).chain((id) => fc.record({ handler: fc.constant(id), config: mostly(handlers[id]!, fc.dictionary(fc.string({ maxLength: 5 }), anyValue, { maxKeys: 2 })) })),
    fc.oneof(fc.record({ handler: fc.constantFrom('jwt', 'remote', 'id_token', 'nope', '') }), anyValue),
  )
const none = fc.constant({})
const rule = fc
  .record({
    id: mostly(fc.constant('r')),
    match: mostly(fc.record({ url: urlPattern, methods: fc.array(fc.constantFrom('GET', 'post', 'PATCH', ''), { maxLength: 3 }) })),
    upstream: mostly(
      fc.record({
        url: mostly(fc.constantFrom('http://127.0.0.1:9', 'http://127.0.0.1:9/base'), fc.constantFrom('not a url', 'ftp://x', '')),
        preserve_host: mostly(fc.boolean()),
        strip_path: mostly(fc.constantFrom('/api', '/', '/api/'), fc.constantFrom('api', '')),
      }),
    ),
    authenticators: mostly(fc.array(handlerRef({ noop: none, unauthorized: none, anonymous: fc.record({ subject: mostly(fc.string({ maxLength: 6 })) }) }), { minLength: 1, maxLength: 2 })),
    authorizer: handlerRef({ allow: none, deny: none }),
    mutators: mostly(fc.array(handlerRef({ noop: none, header: fc.record({ headers: headerTemplates }) }), { minLength: 1, maxLength: 2 })),
    errors: mostly(fc.array(handlerRef({ json: fc.record({ verbose: mostly(fc.boolean()) }) }), { maxLength: 1 })),
  })
  .chain((r) => fc.oneof({ weight: 12, arbitrary: fc.constant(r) }, { weight: 1, arbitrary: anyValue.map((v) => ({ ...r, unknown_key: v })) }))
/** Up to three rules; string ids are made distinct (a duplicate id refuses the whole file). */
const ruleList = fc.array(rule, { maxLength: 3 }).map((rs) => rs.map((r, i) => (typeof r.id === 'string' ? { ...r, id: `${r.id}${i}` } : r)))
/** The same rule as a Kubernetes manifest (Maester's camelCase upstream, no id: the name is the id). */
const manifest = fc.tuple(rule, fc.oneof({ weight: 8, arbitrary: fc.constant('m') }, { weight: 1, arbitrary: fc.constantFrom('Bad_Name', '') }), fc.boolean()).map(([r, name, list]) => {
  const { id: _id, upstream, ...spec } = r as Record<string, unknown>
  const up = upstream as { url?: unknown; preserve_host?: unknown; strip_path?: unknown } | undefined
  const camel = typeof up === 'object' && up !== null ? { url: up.url, preserveHost: up.preserve_host, stripPath: up.strip_path } : up
  const item = { apiVersion: 'oathkeeper.ory.sh/v1alpha1', kind: 'Rule', metadata: { name, namespace: 'ns' }, spec: { ...spec, upstream: camel } }
  return list ? { apiVersion: 'v1', kind: 'List', items: [item] } : item
})

t.test('rule-shaped documents parse and compile to rules or ConfigErrors', async (t) => {
  let compiled = 0
  let refused = 0
  fc.assert(
    fc.property(fc.oneof(ruleList, manifest), fc.constantFrom('regexp', 'glob') as fc.Arbitrary<'regexp' | 'glob'>, fc.boolean(), (doc, strategy, asJson) => {
      const specs = parsed(asJson ? JSON.stringify(doc) : toYaml(doc))
      if (specs instanceof ConfigError) return
      for (const spec of specs) {
        const r = loaded(`compiling ${JSON.stringify(spec)}`, () => compileRule(spec, SOURCE, contexts[strategy]))
        if (r instanceof ConfigError) refused++
        else compiled++
      }
    }),
    { numRuns: 300 },
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

const duration = rarelyOdd(fc.constantFrom('5s', '1m30s', '300ms', '1.5h', '0s'), fc.oneof(fc.constantFrom('-1s', '5', '', 's', '1d', '9999999999h'), fc.string({ maxLength: 5 })))
const handlerMap = fc.dictionary(
  rarelyOdd(fc.constantFrom('noop', 'jwt', 'header', 'json'), fc.constantFrom('nope', '__proto__', 'constructor', '')) as fc.Arbitrary<string>,
  rarelyOdd(fc.record({ enabled: rarelyOdd(fc.boolean()), config: rarelyOdd(fc.constant({})) }, { requiredKeys: [] })),
  { maxKeys: 3 },
)
const configObject = fc.record(
  {
    serve: rarelyOdd(
      fc.record(
        {
          proxy: rarelyOdd(
            fc.record(
              {
                host: rarelyOdd(fc.constantFrom('127.0.0.1', '', '::')),
                port: rarelyOdd(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(-1, 65536, 1.5, '80', null)),
                timeout: rarelyOdd(fc.record({ read: duration, write: duration, idle: duration }, { requiredKeys: [] })),
                trust_forwarded_headers: rarelyOdd(fc.boolean()),
                workers: rarelyOdd(fc.constantFrom(1, 4, 'auto'), fc.constantFrom(0, 2000, 'many', 1.5)),
              },
              { requiredKeys: [] },
            ),
          ),
          api: rarelyOdd(fc.record({ host: rarelyOdd(fc.constant('127.0.0.1')), port: rarelyOdd(fc.integer({ min: 0, max: 65535 })) }, { requiredKeys: [] })),
          shutdown_grace: duration,
        },
        { requiredKeys: [] },
      ),
    ),
    access_rules: rarelyOdd(
      fc.record(
        {
          repositories: rarelyOdd(fc.array(fc.constantFrom('rules/', 'file:///etc/rules.yml', 'inline://W10='), { maxLength: 2 }), fc.constantFrom([''], 'rules/', [1])),
          matching_strategy: rarelyOdd(fc.constantFrom('regexp', 'glob'), fc.constantFrom('regex', 1)),
          repository_poll_interval: duration,
        },
        { requiredKeys: [] },
      ),
    ),
    authenticators: handlerMap,
    authorizers: handlerMap,
    mutators: handlerMap,
    errors: rarelyOdd(fc.record({ fallback: rarelyOdd(fc.array(fc.constantFrom('json'), { maxLength: 1 }), fc.constantFrom(['redirect'], [''], 'json')), handlers: handlerMap }, { requiredKeys: [] })),
    log: rarelyOdd(fc.record({ level: rarelyOdd(fc.constantFrom('info', 'debug', 'silent'), fc.constantFrom('loud', '')), format: rarelyOdd(fc.constantFrom('json', 'text'), fc.constant('xml')) }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
).chain((c) => fc.oneof({ weight: 12, arbitrary: fc.constant(c) }, { weight: 1, arbitrary: fc.constantFrom('version', 'serve_typo', 'tracing').chain((k) => anyValue.map((v) => ({ ...c, [k]: v }))) }))

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
    { numRuns: 30 },
  )
  t.ok(valid > 3, `${valid} configs were valid`)
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
  fc.assert(fc.property(fc.dictionary(envName, envValue, { maxKeys: 5 }), (env) => void built({}, env)), { numRuns: 25 })
})

t.test('a "__proto__" key in a config file reaches no prototype', async (t) => {
  const raw: unknown = JSON.parse('{"__proto__":{"polluted":true},"serve":{"__proto__":{"polluted":true}},"authenticators":{"__proto__":{"enabled":true}}}')
  built(raw)
  const probe: Record<string, unknown> = {}
  t.equal(probe.polluted, undefined, 'Object.prototype is untouched')
  t.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'enabled'), false)
})
