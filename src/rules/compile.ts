import { ConfigError } from '../errors.js'
import type { HandlerConfigs } from '../pipeline/handler-config.js'
import type { Authenticate, Authorize, HandleError, HandlerDeps, HandlerKind, Mutate } from '../pipeline/types.js'
import { compileWhen, type WhenMatcher } from '../pipeline/errors/when.js'
import type { GatewayMetrics } from '../observability/metrics.js'
import { detachedRuleStats, HandlerOutcomes, type RuleStats, type StepKind } from '../observability/stats.js'
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
export function compileRule(spec: RuleSpec, source: string, ctx: CompileContext): CompiledRule {
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
  const upstream = part(() => compileUpstream(spec, where))
  const authenticators = (spec.authenticators ?? []).map((r, i) =>
    part(() => step<Authenticate>(ctx, 'authenticators', r, `${where}: authenticators[${i}]`)),
  )
  const authorizer = spec.authorizer ? part(() => step<Authorize>(ctx, 'authorizers', spec.authorizer!, `${where}: authorizer`)) : undefined
  const mutators = (spec.mutators ?? []).map((r, i) => part(() => step<Mutate>(ctx, 'mutators', r, `${where}: mutators[${i}]`)))
  const errors = (spec.errors ?? []).map((r, i) => part(() => errorStep(ctx, r, `${where}: errors[${i}]`)))
  if (problems.length > 0) throw new ConfigError(`${where}: invalid rule`, problems)

  return {
    id: spec.id,
    spec,
    source,
    matcher: matcher!,
    methods: new Set((spec.match.methods ?? []).map((m) => m.toUpperCase())),
    priority: spec.priority ?? 0,
    upstream: upstream ?? null,
    authenticators: authenticators as PipelineStep<Authenticate>[],
    authorizer: authorizer!,
    mutators: mutators as PipelineStep<Mutate>[],
    errors: errors as ErrorStep[],
    stats: ctx.metrics?.rule(spec.id) ?? detachedRuleStats(spec.id),
  }
}

function step<Fn>(ctx: CompileContext, kind: Exclude<HandlerKind, 'errors'>, ref: HandlerRef, where: string): PipelineStep<Fn> {
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
  const { def, config, when } = ctx.handlers.resolve('errors', ref, where)
  const resources = new Set<string>()
  const run = ctx.deps.shared.collect(resources, () => def.create(config, ctx.deps))
  return { id: def.id, run, resources: kept(resources), when: compileWhen(when, where) }
}

/** Most handlers hold no shared resource: they all point at one empty set rather than a set each. */
const NO_RESOURCES: ReadonlySet<string> = new Set()
const kept = (resources: Set<string>): ReadonlySet<string> => (resources.size === 0 ? NO_RESOURCES : resources)

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

function compileUpstream(spec: RuleSpec, where: string): CompiledUpstream | null {
  const up = spec.upstream
  if (up?.url === undefined || up.url === '') return null
  let url: URL
  try {
    url = new URL(up.url)
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
