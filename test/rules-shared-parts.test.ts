import t from 'tap'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { pino } from 'pino'
import { Agent } from 'undici'
import { buildConfig } from '../src/config/load.js'
import { header } from '../src/pipeline/mutate/header.js'
import { HandlerConfigs } from '../src/pipeline/handler-config.js'
import { createRegistries } from '../src/pipeline/registries.js'
import { Registry } from '../src/pipeline/registry.js'
import { SharedResources } from '../src/pipeline/shared.js'
import type { MutatorDef } from '../src/pipeline/types.js'
import { compileRule, type CompileContext, type CompiledRule } from '../src/rules/compile.js'
import { InternTable } from '../src/rules/intern.js'
import { parseRuleDocument } from '../src/rules/parse.js'
import type { RuleSpec } from '../src/rules/types.js'

const config = buildConfig(
  {
    authenticators: { noop: { enabled: true }, anonymous: { enabled: true } },
    authorizers: { allow: { enabled: true } },
    mutators: { noop: { enabled: true }, header: { enabled: true, config: { headers: {} } } },
    errors: { handlers: { json: { enabled: true } } },
  },
  {},
)
const http = new Agent()
const shared = new SharedResources()
t.teardown(async () => {
  await shared.close()
  await http.close()
})

/** A context whose `header` mutator counts the times it is created. */
function context(parts: InternTable | undefined): { ctx: CompileContext; created: () => number } {
  let created = 0
  const registries = createRegistries()
  const counting: MutatorDef = {
    ...header,
    create(c) {
      created++
      return header.create(c)
    },
  }
  const mutators = new Registry('mutator', [...registries.mutators.ids().filter((id) => id !== 'header').map((id) => registries.mutators.get(id)), counting])
  const ctx: CompileContext = {
    handlers: new HandlerConfigs(config, { ...registries, mutators }),
    strategy: 'regexp',
    deps: { logger: pino({ level: 'silent' }), http, shared },
    parts,
  }
  return { ctx, created: () => created }
}

function spec(i: number, headers: Record<string, string> = { 'X-User': '{{ print .Subject }}' }, upstream = 'http://up.test:8080'): RuleSpec {
  return {
    id: `r${i}`,
    match: { url: `http://api.test/svc${i}/<.*>`, methods: ['GET', 'post'] },
    upstream: { url: upstream, strip_path: '/api' },
    authenticators: [{ handler: 'anonymous', config: { subject: 'guest' } }],
    authorizer: { handler: 'allow' },
    mutators: [{ handler: 'header', config: { headers } }],
    errors: [{ handler: 'json', config: { verbose: true } }],
  }
}

t.test('rules with the same handler configs share their steps; each config is created once', async (t) => {
  const { ctx, created } = context(new InternTable())
  const rules = [0, 1, 2, 3].map((i) => compileRule(spec(i), 'a.yml', ctx))
  const [a, b] = rules as [CompiledRule, CompiledRule]
  t.equal(created(), 1, 'one header mutator for four rules')
  t.equal(a.mutators[0], b.mutators[0])
  t.equal(a.authenticators[0], b.authenticators[0])
  t.equal(a.authorizer, b.authorizer)
  t.equal(a.errors[0], b.errors[0])
  t.equal(a.mutators, b.mutators, 'and the lists of them')
  t.equal(a.upstream, b.upstream, 'the same upstream, compiled once')
  t.equal(a.methods, b.methods)
  t.same([...a.methods], ['GET', 'POST'])
  t.not(a.matcher, b.matcher, 'each rule keeps its own URL matcher')
  t.not(a.stats, b.stats, 'and its own request counters')

  const other = compileRule(spec(9, { 'X-Team': 'blue' }, 'http://other.test'), 'a.yml', ctx)
  t.equal(created(), 2, 'another header config is another mutator')
  t.not(other.mutators[0], a.mutators[0])
  t.not(other.upstream, a.upstream)
  t.not(other.mutators, a.mutators)
  t.equal(other.authenticators, a.authenticators)
  t.equal(other.upstream!.url.href, 'http://other.test/')
  t.equal(other.authenticators[0], a.authenticators[0], 'what is the same is still shared')
})

t.test('without a table (validation, tests) every rule compiles its own', async (t) => {
  const { ctx, created } = context(undefined)
  const [a, b] = [0, 1].map((i) => compileRule(spec(i), 'a.yml', ctx)) as [CompiledRule, CompiledRule]
  t.equal(created(), 2)
  t.not(a.mutators[0], b.mutators[0])
})

t.test('a shared step behaves as its own would', async (t) => {
  const { ctx } = context(new InternTable())
  const [a, b] = [0, 1].map((i) => compileRule(spec(i), 'a.yml', ctx)) as [CompiledRule, CompiledRule]
  const session = { Subject: 'alice', Extra: {}, Header: {} as Record<string, string>, MatchContext: { RegexpCaptureGroups: [], URL: null, Method: 'GET', Header: {} } }
  await b.mutators[0]!.run({} as never, session as never)
  t.same(session.Header, { 'X-User': 'alice' })
  t.equal(a.mutators[0]!.outcomes, b.mutators[0]!.outcomes, 'outcomes are counted per handler anyway')
})

t.test('the spec is kept as written and read back frozen', async (t) => {
  const { ctx } = context(new InternTable())
  const s = spec(1)
  const rule = compileRule(s, 'a.yml', ctx)
  t.same(rule.spec, s)
  t.ok(Object.isFrozen(rule.spec) && Object.isFrozen(rule.spec.match), 'frozen')
  t.equal(rule.spec.priority, undefined)
})

t.test('a number JSON cannot write (-0, .inf) is kept exactly, and such a rule shares nothing', async (t) => {
  const { ctx, created } = context(new InternTable())
  const yaml = (id: string): string =>
    `[{ id: ${id}, priority: -0, match: { url: "http://${id}.test/<.*>", methods: [GET] }, authenticators: [{ handler: noop }], authorizer: { handler: allow }, mutators: [{ handler: header, config: { headers: { X-A: a } } }] }]`
  const [a, b] = ['odd', 'odd2'].map((id) => compileRule(parseRuleDocument(yaml(id), 'o.yml')[0]!, 'o.yml', ctx)) as [CompiledRule, CompiledRule]
  t.ok(Object.is(a.spec.priority, -0), 'not turned into 0')
  t.equal(created(), 2, 'not shared: JSON would not tell -0 from 0')
  t.not(a.mutators[0], b.mutators[0])
})

t.test('a part no rule holds any more is let go (reloads do not accumulate configs)', async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const parts = new InternTable()
  const { ctx } = context(parts)
  let rules: CompiledRule[] | undefined = [compileRule(spec(1), 'a.yml', ctx), compileRule(spec(2, { 'X-B': 'b' }), 'a.yml', ctx)]
  t.ok(parts.size > 0)
  // A WeakRef's target lives at least to the end of the job that made it.
  await nextTurn()
  gc()
  t.ok(parts.size > 0, 'held while rules use them')
  t.equal(rules.length, 2)
  rules = undefined
  await nextTurn()
  gc()
  t.equal(parts.size, 0)
})
