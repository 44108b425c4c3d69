import { ConfigError } from '../errors.js'
import { deepFreeze } from '../util/deep-merge.js'
import type { HandlerConfigs } from '../pipeline/handler-config.js'
import type { Authenticate, Authorize, HandleError, HandlerDeps, HandlerKind, Mutate } from '../pipeline/types.js'
import { compileWhen, type WhenMatcher } from '../pipeline/errors/when.js'
import type { GatewayMetrics } from '../observability/metrics.js'
import { detachedRuleStats, HandlerOutcomes, type RuleStats, type StepKind } from '../observability/stats.js'
import type { InternTable } from './intern.js'
import { compileMatcher, type UrlMatcher } from './matcher/index.js'
import type { HandlerRef, MatchingStrategy, RuleSpec } from './types.js'

/** A handler ready to run, with the id kept for logs and metrics. */
export interface Step<Fn> {
  readonly id: string
  readonly run: Fn
  /** The keys of the shared resources the handler holds: while it is in force, they are kept. */
  readonly resources: ReadonlySet<string>
}

/** An authenticator, authorizer or mutator ready to run, with the counters of its outcomes. */
export interface PipelineStep<Fn> extends Step<Fn> {
  /** Shared by every rule using this handler; runPipeline only increments its fields. */
  readonly outcomes: HandlerOutcomes
}

/** An error handler ready to run, with its `when` condition compiled. */
export interface ErrorStep extends Step<HandleError> {
  readonly when: WhenMatcher
}

export interface CompiledUpstream {
  readonly url: URL
  readonly preserveHost: boolean
  readonly stripPath: string | undefined
}

/** A rule compiled at load time: the request path only runs what is here. */
export interface CompiledRule {
  readonly id: string
  readonly spec: RuleSpec
  readonly source: string
  readonly matcher: UrlMatcher
  /** Upper-case methods. */
  readonly methods: ReadonlySet<string>
  /** `priority` of the spec, 0 when absent. */
  readonly priority: number
  readonly upstream: CompiledUpstream | null
  readonly authenticators: readonly PipelineStep<Authenticate>[]
  readonly authorizer: PipelineStep<Authorize>
  readonly mutators: readonly PipelineStep<Mutate>[]
  /** The rule's error handlers, tried (by `when`) before `errors.fallback`. */
  readonly errors: readonly ErrorStep[]
  /** Where the proxy and the decision API count this rule's requests (pre-bound: no lookup per request). */
  readonly stats: RuleStats
}

export interface CompileContext {
  readonly handlers: HandlerConfigs
  readonly strategy: MatchingStrategy
  readonly deps: HandlerDeps
  /** The gateway's metrics; absent where nothing is served (rule validation, unit tests). */
  readonly metrics?: GatewayMetrics
  /**
   * Where rules share what they compile alike (handler steps per handler and config, method
   * sets, upstreams); absent where each rule is compiled on its own (validation, unit tests).
   */
  readonly parts?: InternTable
}

const STEP_KIND: Readonly<Record<Exclude<HandlerKind, 'errors'>, StepKind>> = {
  authenticators: 'authenticator',
  authorizers: 'authorizer',
  mutators: 'mutator',
}

/**
 * Compiles one rule. Every problem of the rule (pattern, each handler, upstream) is collected and
 * thrown at once as a ConfigError whose problems each name the rule and the offending part.
 */
export function compileRule(spec: RuleSpec, source: string, context: CompileContext): CompiledRule {
  const text = exactJson(spec)
  // Parts are shared by their JSON (see shared()), so only a spec that JSON writes exactly shares.
  const ctx = text === undefined && context.parts !== undefined ? { ...context, parts: undefined } : context
  const where = `rule "${spec.id}"`
  const problems: string[] = []
  // Runs one part; a ConfigError's problems (or an Error's message) are kept and the part is left out.
  const part = <T>(make: () => T): T | undefined => {
    try {
      return make()
    } catch (err) {
      problems.push(...(err instanceof ConfigError ? err.problems : [(err as Error).message]))
      return undefined
    }
  }
  const matcher = part(() => {
    try {
      return compileMatcher(ctx.strategy, spec.match.url)
    } catch (err) {
      throw new ConfigError(`${where}: match.url: ${(err as Error).message}`)
    }
  })
  if (!spec.authenticators?.length) problems.push(`${where}: at least one authenticator must be set`)
  if (!spec.authorizer) problems.push(`${where}: an authorizer must be set`)
  if (!spec.mutators?.length) problems.push(`${where}: at least one mutator must be set`)
  const upstream = part(() => (hasUpstream(spec) ? shared(ctx, 'upstream', spec.upstream, () => compileUpstream(spec, where)) : null))
  const authenticators = (spec.authenticators ?? []).map((r, i) =>
    part(() => step<Authenticate>(ctx, 'authenticators', r, `${where}: authenticators[${i}]`)),
  )
  const authorizer = spec.authorizer ? part(() => step<Authorize>(ctx, 'authorizers', spec.authorizer!, `${where}: authorizer`)) : undefined
  const mutators = (spec.mutators ?? []).map((r, i) => part(() => step<Mutate>(ctx, 'mutators', r, `${where}: mutators[${i}]`)))
  const errors = (spec.errors ?? []).map((r, i) => part(() => errorStep(ctx, r, `${where}: errors[${i}]`)))
  if (problems.length > 0) throw new ConfigError(`${where}: invalid rule`, problems)

  return new Rule(text ?? spec, {
    id: spec.id,
    source,
    matcher: matcher!,
    methods: methodSet(ctx, spec.match.methods ?? []),
    priority: spec.priority ?? 0,
    upstream: upstream ?? null,
    // The lists too: the same refs give the same (shared) steps, so one array serves those rules.
    authenticators: shared(ctx, 'authenticator list', spec.authenticators, () => authenticators as PipelineStep<Authenticate>[], (made) => sameSteps(made, authenticators)),
    authorizer: authorizer!,
    mutators: shared(ctx, 'mutator list', spec.mutators, () => mutators as PipelineStep<Mutate>[], (made) => sameSteps(made, mutators)),
    errors: shared(ctx, 'error list', spec.errors, () => errors as ErrorStep[], (made) => sameSteps(made, errors)),
    stats: ctx.metrics?.rule(spec.id) ?? detachedRuleStats(spec.id),
  })
}

// The fields besides `spec`, copied in by the constructor (class and interface merge).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
interface Rule extends Omit<CompiledRule, 'spec'> {}

/**
 * A compiled rule. Its spec is read only by the rules API and explain, never per request, so it
 * is kept as the JSON text it was parsed from, about a quarter of the size of its objects (a
 * kilobyte per rule), and parsed back when asked. A spec JSON cannot write exactly is kept as it is.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
class Rule implements CompiledRule {
  readonly #spec: string | RuleSpec

  constructor(spec: string | RuleSpec, fields: Omit<CompiledRule, 'spec'>) {
    Object.assign(this, fields)
    this.#spec = spec
  }

  /** A new frozen copy each time it is read from text. */
  get spec(): RuleSpec {
    return typeof this.#spec === 'string' ? deepFreeze(JSON.parse(this.#spec) as RuleSpec) : this.#spec
  }
}

/**
 * The spec as JSON, or undefined when JSON would change it: a YAML `.inf` or `.nan` (written as
 * null) or -0 (written as 0). Specs are parsed JSON or YAML, so nothing else is lost.
 */
function exactJson(spec: RuleSpec): string | undefined {
  // Checked apart: with a replacer function JSON.stringify builds the text from pieces, which
  // V8 keeps as a tree of strings, a third larger than the flat text it makes without one.
  return jsonExact(spec) ? JSON.stringify(spec) : undefined
}

function jsonExact(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0)
  if (typeof v !== 'object' || v === null) return true
  for (const k in v) if (!jsonExact((v as Record<string, unknown>)[k])) return false
  return true
}

/**
 * `make()`, or the part an earlier rule made under the same key when the context shares parts.
 * The key is `kind` and the JSON of `value`, what decides the part besides the kind: written in
 * the rule's key order, so the same config written in another order is compiled again, which
 * costs memory, never correctness.
 */
function shared<T extends object>(ctx: CompileContext, kind: string, value: unknown, make: () => T, usable?: (made: T) => boolean): T {
  return ctx.parts === undefined ? make() : ctx.parts.get(`${kind} ${JSON.stringify(value)}`, make, usable)
}

function methodSet(ctx: CompileContext, methods: readonly string[]): ReadonlySet<string> {
  const upper = methods.map((m) => m.toUpperCase())
  return shared(ctx, 'methods', upper, () => new Set(upper))
}

/**
 * A handler step. Its function depends only on the handler, the merged config (the rule's
 * over the gateway's, which is fixed for the gateway's life) and the deps, so rules naming the
 * same handler with the same config share one step.
 */
function step<Fn>(ctx: CompileContext, kind: Exclude<HandlerKind, 'errors'>, ref: HandlerRef, where: string): PipelineStep<Fn> {
  return shared(ctx, `${kind} ${ref.handler}`, ref.config, () => newStep<Fn>(ctx, kind, ref, where), (made) => stillHeld(ctx, made))
}

function newStep<Fn>(ctx: CompileContext, kind: Exclude<HandlerKind, 'errors'>, ref: HandlerRef, where: string): PipelineStep<Fn> {
  const { def, config } = ctx.handlers.resolve(kind, ref, where)
  const outcomes = ctx.metrics?.handler(STEP_KIND[kind], def.id) ?? new HandlerOutcomes(STEP_KIND[kind], def.id)
  const resources = new Set<string>()
  try {
    const run = ctx.deps.shared.collect(resources, () => def.create(config, ctx.deps)) as Fn
    return { id: def.id, run, outcomes, resources: kept(resources) }
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${where}: ${err.message}`, err.problems.map((p) => `${where}: ${p}`))
    throw new ConfigError(`${where}: ${(err as Error).message}`)
  }
}

/** Compiles an error handler reference (rule-level or global) with its `when`. */
export function errorStep(ctx: CompileContext, ref: HandlerRef, where: string): ErrorStep {
  return shared(
    ctx,
    `errors ${ref.handler}`,
    ref.config,
    () => {
      const { def, config, when } = ctx.handlers.resolve('errors', ref, where)
      const resources = new Set<string>()
      const run = ctx.deps.shared.collect(resources, () => def.create(config, ctx.deps))
      return { id: def.id, run, resources: kept(resources), when: compileWhen(when, where) }
    },
    (made) => stillHeld(ctx, made),
  )
}

/** Most handlers hold no shared resource: they all point at one empty set rather than a set each. */
const NO_RESOURCES: ReadonlySet<string> = new Set()
const kept = (resources: Set<string>): ReadonlySet<string> => (resources.size === 0 ? NO_RESOURCES : resources)

/**
 * Whether a step made earlier may serve a new rule: every shared resource it holds is still
 * there. A step no rule in force uses stays in the intern table until it is garbage collected,
 * while a sweep may already have dropped (and will dispose) the caches and key sets it holds.
 */
const stillHeld = (ctx: CompileContext, made: Step<unknown>): boolean => {
  for (const key of made.resources) if (!ctx.deps.shared.has(key)) return false
  return true
}

/** A shared list serves a rule only when it holds the very steps the rule's refs gave (see stillHeld). */
const sameSteps = (made: readonly unknown[], steps: readonly unknown[]): boolean => made.length === steps.length && made.every((st, i) => st === steps[i])

/** The shared resources the rules' handlers (and the global error handlers) hold. */
export function resourcesIn(rules: Iterable<CompiledRule>, globalErrors: readonly ErrorStep[] = []): Set<string> {
  const live = new Set<string>()
  const add = (step: Step<unknown>): void => {
    for (const key of step.resources) live.add(key)
  }
  for (const r of rules) {
    r.authenticators.forEach(add)
    add(r.authorizer)
    r.mutators.forEach(add)
    r.errors.forEach(add)
  }
  globalErrors.forEach(add)
  return live
}

function hasUpstream(spec: RuleSpec): boolean {
  return spec.upstream?.url !== undefined && spec.upstream.url !== ''
}

/** The upstream of a rule that has one (see hasUpstream). */
function compileUpstream(spec: RuleSpec, where: string): CompiledUpstream {
  const up = spec.upstream!
  let url: URL
  try {
    url = new URL(up.url!)
  } catch {
    throw new ConfigError(`${where}: upstream.url "${up.url}" is not a valid URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${where}: upstream.url must be http or https, got "${url.protocol}"`)
  }
  // Oathkeeper trims the slashes of strip_path and strips "/" + the rest: `api`, `api/` and
  // `/api/` all mean `/api`; one that is only slashes strips nothing.
  const strip = up.strip_path?.replace(/^\/+|\/+$/g, '')
  return { url, preserveHost: up.preserve_host === true, stripPath: strip ? `/${strip}` : undefined }
}
