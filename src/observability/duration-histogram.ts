import { Histogram, type Registry } from 'prom-client'
import { DURATION_BUCKETS, type RequestStats } from './stats.js'

const DURATION = 'gatehouse_requests_duration_seconds'
const DURATION_HELP = 'Time from receiving a request to the end of its answer, by rule (upstream time included)'

/** One sample of the exposition: a series name, its labels, its value. */
interface Sample {
  readonly metricName: string
  readonly labels: Record<string, string | number>
  readonly value: number
}

/**
 * `gatehouse_requests_duration_seconds` (Oathkeeper: `ory_oathkeeper_requests_duration_seconds`),
 * built from RequestStats when scraped. prom-client has no way to hand a Histogram bucket counts,
 * and observing through it would hash labels per request, so this subclass answers `get()` itself
 * with the samples prom-client's registry renders (the shape `getMetricsAsJSON` documents).
 * test/gateway-metrics.test.ts parses the result, so a prom-client upgrade that changes how the
 * registry reads metrics shows there.
 */
export class RequestDurationHistogram extends Histogram<'service' | 'rule_id'> {
  readonly #series: () => Iterable<RequestStats>

  constructor(registry: Registry, series: () => Iterable<RequestStats>) {
    super({
      name: DURATION,
      help: DURATION_HELP,
      labelNames: ['service', 'rule_id'] as const,
      buckets: [...DURATION_BUCKETS],
      registers: [registry],
    })
    this.#series = series
  }

  override async get(): ReturnType<Histogram<'service' | 'rule_id'>['get']> {
    const values: Sample[] = []
    for (const s of this.#series()) {
      // A rule only used through one of the two servers has no series for the other.
      if (s.count === 0) continue
      const labels = { service: s.service, rule_id: s.ruleId }
      let cumulative = 0
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += s.buckets[i]!
        values.push({ metricName: `${DURATION}_bucket`, labels: { ...labels, le }, value: cumulative })
      })
      cumulative += s.buckets[DURATION_BUCKETS.length]!
      values.push({ metricName: `${DURATION}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative })
      values.push({ metricName: `${DURATION}_sum`, labels, value: s.sum })
      values.push({ metricName: `${DURATION}_count`, labels, value: s.count })
    }
    // prom-client's typings describe `type` as an enum and require `collect`; at run time
    // (and in what the registry reads) it is the string 'histogram' and no collect.
    return { name: DURATION, help: DURATION_HELP, type: 'histogram', values, aggregator: 'sum' } as unknown as Awaited<
      ReturnType<Histogram<'service' | 'rule_id'>['get']>
    >
  }

  /** prom-client 15's registry calls this instead of get() when a metric has it. */
  getForPromString(): ReturnType<Histogram<'service' | 'rule_id'>['get']> {
    return this.get()
  }
}
