/**
 * Prometheus metrics with `serve.proxy.workers` > 1. The workers share the ports through the
 * cluster primary, so a scrape of a worker would see the counts of whichever worker the
 * connection landed on. Instead the primary serves the metrics port itself and answers each
 * scrape with the workers' registries aggregated (prom-client's AggregatorRegistry, over the
 * cluster IPC channel): counters and histograms summed, gauges as each metric's `aggregator`
 * says (sum unless set), prom-client's process metrics as it defines them.
 */
import { AggregatorRegistry, type Registry } from 'prom-client'
import type { MetricsSource } from './metrics-server.js'

/**
 * In a worker: answers the primary's requests for metrics with `registry`. Call it as soon as the
 * registry exists: until then a scrape waits for this worker (prom-client gives up after 5 s).
 */
export function offerMetricsToPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry])
  // prom-client adds its IPC listener when an AggregatorRegistry is first made, in any process.
  new AggregatorRegistry()
}

/** In the primary: each scrape asks every connected worker and sums what they answer. */
export function clusterMetricsSource(): MetricsSource {
  const aggregator = new AggregatorRegistry()
  return { metrics: () => aggregator.clusterMetrics(), contentType: aggregator.contentType }
}
