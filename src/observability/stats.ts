/**
 * The numbers the request path counts, as plain fields and typed arrays. prom-client's own
 * `inc`/`observe` build a label-hash string on every call, even on a child from `labels()`; here
 * a request only adds to numbers it already holds a reference to, and the metrics module turns
 * them into Prometheus samples when /metrics is scraped (see metrics.ts).
 */
import { METHODS } from 'node:http'
import { GatehouseError } from '../errors.js'

/**
 * Upper bounds (seconds) of the request duration buckets: Oathkeeper's (Prometheus' default
 * buckets, 5ms to 10s) plus two below 5ms, where a gateway's own answers (denials, cached
 * introspection, noop rules) land.
 */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])

/** Index of each method Node's parser accepts; anything else (an X-Forwarded-Method) is OTHER. */
const METHOD_INDEX: ReadonlyMap<string, number> = new Map(METHODS.map((m, i) => [m, i]))
const OTHER_METHOD = METHODS.length
/** Spacing of the status part of a count key; more than there are method indexes. */
const METHOD_SLOTS = 64
if (OTHER_METHOD >= METHOD_SLOTS) throw new Error('more HTTP methods than METHOD_SLOTS')

/** The method label of a method index (see RequestStats.counts). */
export function methodLabel(index: number): string {
  return METHODS[index] ?? 'OTHER'
}

/** Splits a RequestStats.counts key into its status and method label. */
export function splitCountKey(key: number): { status: number; method: string } {
  return { status: Math.floor(key / METHOD_SLOTS), method: methodLabel(key % METHOD_SLOTS) }
}

/** The servers whose requests are counted: the reverse proxy and the decision API. */
export type Service = 'proxy' | 'api'

/** Nothing counted yet: what a RequestStats reads as before its first request. */
const NO_COUNTS: ReadonlyMap<number, number> = new Map()
const NO_BUCKETS: Readonly<Float64Array> = new Float64Array(DURATION_BUCKETS.length + 1)

/**
 * Requests and their durations for one (service, rule) pair. Every rule has two (proxy and
 * decision API), and most rules are only ever used through one server, so the map and the
 * buckets are allocated on the first request: about 700 bytes less per rule that waits.
 */
export class RequestStats {
  #counts: Map<number, number> | undefined
  #buckets: Float64Array | undefined
  sum = 0
  count = 0

  constructor(
    readonly service: Service,
    /** '' for requests no rule was found for (404, 500 on several rules, bad requests, CORS preflights). */
    readonly ruleId: string,
  ) {}

  /**
   * Request count per `status * 64 + method index`. A number key: counting a request hashes
   * an integer instead of building a label string. Methods are bounded (Node's list + OTHER),
   * so the decision API's client-chosen X-Forwarded-Method cannot grow this map.
   */
  get counts(): ReadonlyMap<number, number> {
    return this.#counts ?? NO_COUNTS
  }

  /** Observations per bucket of DURATION_BUCKETS, not cumulative; the last slot is +Inf. */
  get buckets(): Readonly<Float64Array> {
    return this.#buckets ?? NO_BUCKETS
  }

  /** Counts one finished request. */
  record(method: string, status: number, seconds: number): void {
    const counts = (this.#counts ??= new Map())
    const buckets = (this.#buckets ??= new Float64Array(DURATION_BUCKETS.length + 1))
    const key = status * METHOD_SLOTS + (METHOD_INDEX.get(method) ?? OTHER_METHOD)
    counts.set(key, (counts.get(key) ?? 0) + 1)
    let i = 0
    // Linear: 13 bounds, and most requests stop in the first few.
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++
    buckets[i]! += 1
    this.sum += seconds
    this.count++
  }
}

/** The request stats of one rule, one per server, kept across reloads (counters must not restart). */
export interface RuleStats {
  readonly proxy: RequestStats
  readonly api: RequestStats
}

/** What a pipeline handler's runs came to. */
export type Outcome = 'authenticated' | 'not_responsible' | 'allowed' | 'mutated' | 'denied' | 'error'

/** The handler kinds whose runs are counted, as the `kind` label spells them. */
export type StepKind = 'authenticator' | 'authorizer' | 'mutator'

/** The outcomes a handler of each kind can have; exported even while 0, so rates start at once. */
export const OUTCOMES_OF: Readonly<Record<StepKind, readonly Outcome[]>> = {
  authenticator: ['authenticated', 'not_responsible', 'denied', 'error'],
  authorizer: ['allowed', 'denied', 'error'],
  mutator: ['mutated', 'denied', 'error'],
}

/**
 * Outcome counts of one handler (kind and id), summed over every rule that uses it. An
 * authenticator ends authenticated, not_responsible, denied or error; an authorizer allowed,
 * denied or error; a mutator mutated, denied (rare) or error. "denied" is a 4xx the handler
 * threw (an inactive token, a 403 from a remote authorizer), "error" anything else (a service
 * down, a bug).
 */
export class HandlerOutcomes implements Record<Outcome, number> {
  authenticated = 0
  not_responsible = 0
  allowed = 0
  mutated = 0
  denied = 0
  error = 0

  constructor(
    readonly kind: StepKind,
    readonly handler: string,
  ) {}

  /** Counts a run that threw. */
  failed(err: unknown): void {
    if (err instanceof GatehouseError && err.status < 500) this.denied++
    else this.error++
  }
}

/**
 * Stats for code that runs without a metrics registry (rule validation, unit tests): counted
 * like the real ones, read by nobody.
 */
export function detachedRuleStats(ruleId: string): RuleStats {
  return { proxy: new RequestStats('proxy', ruleId), api: new RequestStats('api', ruleId) }
}
