import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import { RequestDurationHistogram } from './duration-histogram.js'
import {
  HandlerOutcomes,
  OUTCOMES_OF,
  RequestStats,
  splitCountKey,
  type RuleStats,
  type Service,
  type StepKind,
} from './stats.js'

/** An introspection cache's counters. */
interface CacheCounts {
  hits: number
  misses: number
  coalesced: number
  evictions: number
}
const COUNTS = ['hits', 'misses', 'coalesced', 'evictions'] as const

/** What the metrics read of one introspection cache at scrape time. */
export interface IntrospectionCacheView {
  /** The introspection URL without credentials or query: the `endpoint` label. */
  readonly endpoint: string
  readonly stats: Readonly<CacheCounts>
  /** Answers held now. */
  readonly entries: number
}

/** Gateway state the metrics read when scraped, never on the request path. */
export interface MetricSources {
  /** Rules in the set in force. */
  readonly loadedRules: () => number
  /** Rule sources whose last load failed (they keep their last good rules). */
  readonly failingSources: () => number
}

/** Why an upstream could not answer: the `reason` label of gatehouse_upstream_errors_total. */
export type UpstreamFailure = 'timeout' | 'unreachable'

/**
 * The gateway's Prometheus metrics, in a registry of its own (never prom-client's global one),
 * so two gateways in one process (tests, the quickstart) keep apart. Names follow Oathkeeper's
 * where it has one (`ory_oathkeeper_requests_total` → `gatehouse_requests_total`), with the
 * rule id instead of the request path as label, which keeps the series bounded.
 *
 * The request path only touches the plain counters of stats.ts (pre-bound per rule and handler at
 * compile time); the prom-client metrics copy them in when scraped.
 */
export class GatewayMetrics {
  readonly registry = new Registry()
  readonly #rules = new Map<string, RuleStats>()
  readonly #unmatched: RuleStats = { proxy: new RequestStats('proxy', ''), api: new RequestStats('api', '') }
  readonly #handlers = new Map<string, HandlerOutcomes>()
  readonly #upstreamErrors: Counter<'rule_id' | 'reason'>
  readonly #reloads: Counter
  readonly #reloadErrors: Counter
  /** The introspection caches rules use now (see introspectionCache). */
  readonly #caches = new Set<IntrospectionCacheView>()
  /** Per endpoint, the counts of caches no rule uses any more: the counters never go back. */
  readonly #retired = new Map<string, CacheCounts>()

  constructor(sources: MetricSources) {
    const registers = [this.registry]
    const series = (): Iterable<RequestStats> => this.#allRequestStats()
    new Counter({
      name: 'gatehouse_requests_total',
      help: 'Requests answered by the proxy and the decision API, by rule, method and status',
      labelNames: ['service', 'rule_id', 'method', 'status_code'] as const,
      registers,
      collect() {
        this.reset()
        for (const s of series()) {
          for (const [key, n] of s.counts) {
            const { status, method } = splitCountKey(key)
            this.inc({ service: s.service, rule_id: s.ruleId, method, status_code: String(status) }, n)
          }
        }
      },
    })
    new RequestDurationHistogram(this.registry, series)
    const handlers = this.#handlers
    new Counter({
      name: 'gatehouse_handler_outcomes_total',
      help: 'Runs of authenticators, authorizers and mutators, by outcome',
      labelNames: ['kind', 'handler', 'outcome'] as const,
      registers,
      collect() {
        this.reset()
        for (const h of handlers.values()) {
          for (const outcome of OUTCOMES_OF[h.kind]) this.inc({ kind: h.kind, handler: h.handler, outcome }, h[outcome])
        }
      },
    })
    this.#registerCacheMetrics()
    this.#upstreamErrors = new Counter({
      name: 'gatehouse_upstream_errors_total',
      help: 'Proxied requests whose upstream could not be reached or did not answer in time',
      labelNames: ['rule_id', 'reason'] as const,
      registers,
    })
    this.#reloads = new Counter({ name: 'gatehouse_rule_reloads_total', help: 'Access rule sets published (the first load included)', registers })
    this.#reloadErrors = new Counter({
      name: 'gatehouse_rule_reload_errors_total',
      help: 'Failed loads of an access rule source (unreadable, invalid, or an id used elsewhere)',
      registers,
    })
    // With workers the primary aggregates (cluster-metrics.ts): the worker with the fewest rules
    // and the most failing sources are what an alert on these should see, not sums.
    new Gauge({
      name: 'gatehouse_rules_loaded',
      help: 'Access rules in force',
      registers,
      aggregator: 'min',
      collect() {
        this.set(sources.loadedRules())
      },
    })
    new Gauge({
      name: 'gatehouse_rule_sources_failing',
      help: 'Access rule sources whose last load failed (their last good rules stay in force)',
      registers,
      aggregator: 'max',
      collect() {
        this.set(sources.failingSources())
      },
    })
    // Process and Node.js runtime metrics (CPU, memory, event loop lag, GC), as Oathkeeper
    // exports Go's and the process's.
    collectDefaultMetrics({ register: this.registry })
  }

  /** The request stats of rule `id`: the same objects for every compile of that id, so reloads keep counting. */
  rule(id: string): RuleStats {
    let s = this.#rules.get(id)
    if (s === undefined) {
      s = { proxy: new RequestStats('proxy', id), api: new RequestStats('api', id) }
      this.#rules.set(id, s)
    }
    return s
  }

  /** Requests that no rule was run for (no match, several matches, malformed, CORS preflights). */
  unmatched(service: Service): RequestStats {
    return this.#unmatched[service]
  }

  /** The outcome counters of a handler, shared by every rule that uses it. */
  handler(kind: StepKind, id: string): HandlerOutcomes {
    const key = `${kind} ${id}`
    let h = this.#handlers.get(key)
    if (h === undefined) {
      h = new HandlerOutcomes(kind, id)
      this.#handlers.set(key, h)
    }
    return h
  }

  /** Rare path (a failed upstream), so prom-client's label handling is fine here. */
  upstreamError(ruleId: string, reason: UpstreamFailure): void {
    this.#upstreamErrors.inc({ rule_id: ruleId, reason })
  }

  ruleSetPublished(): void {
    this.#reloads.inc()
  }

  ruleSourceFailed(): void {
    this.#reloadErrors.inc()
  }

  *#allRequestStats(): Iterable<RequestStats> {
    yield this.#unmatched.proxy
    yield this.#unmatched.api
    for (const s of this.#rules.values()) {
      yield s.proxy
      yield s.api
    }
  }

  /**
   * Counts an introspection cache in the metrics until the returned function is called (when no
   * rule uses the cache any more); its counts then stay in the totals of its endpoint.
   */
  introspectionCache(cache: IntrospectionCacheView): () => void {
    this.#caches.add(cache)
    return () => {
      if (!this.#caches.delete(cache)) return
      const sum = this.#retired.get(cache.endpoint) ?? { hits: 0, misses: 0, coalesced: 0, evictions: 0 }
      for (const k of COUNTS) sum[k] += cache.stats[k]
      this.#retired.set(cache.endpoint, sum)
    }
  }

  /**
   * The introspection caches' counters, read from their `stats` when scraped. Caches with the
   * same endpoint (different scopes or headers) are summed, with those already dropped: the sum
   * only grows. The entries gauge counts the caches in use.
   */
  #registerCacheMetrics(): void {
    const registers = [this.registry]
    const caches = this.#caches
    const retired = this.#retired
    const counter = (name: string, help: string, key: keyof CacheCounts): void => {
      new Counter({
        name,
        help,
        labelNames: ['endpoint'] as const,
        registers,
        collect() {
          this.reset()
          const out = new Map<string, number>()
          for (const [endpoint, sum] of retired) out.set(endpoint, sum[key])
          for (const c of caches) out.set(c.endpoint, (out.get(c.endpoint) ?? 0) + c.stats[key])
          for (const [endpoint, n] of out) this.inc({ endpoint }, n)
        },
      })
    }
    counter('gatehouse_introspection_cache_hits_total', 'Introspection answers served from the cache', 'hits')
    counter('gatehouse_introspection_cache_misses_total', 'Introspection calls made (not cached, not coalesced)', 'misses')
    counter('gatehouse_introspection_cache_coalesced_total', 'Requests that waited for an introspection call another request had started', 'coalesced')
    counter('gatehouse_introspection_cache_evictions_total', 'Introspection answers dropped because the cache was full (max_cost)', 'evictions')
    new Gauge({
      name: 'gatehouse_introspection_cache_entries',
      help: 'Introspection answers held, by the caches the rules in force use',
      labelNames: ['endpoint'] as const,
      registers,
      collect() {
        this.reset()
        const out = new Map<string, number>()
        for (const c of caches) out.set(c.endpoint, (out.get(c.endpoint) ?? 0) + c.entries)
        for (const [endpoint, n] of out) this.set({ endpoint }, n)
      },
    })
  }
}
