import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Store } from './store/types.js'

/**
 * The token server's Prometheus metrics, served on the admin port at /admin/metrics/prometheus.
 * A registry per server (never prom-client's global one), so two servers in one process (tests,
 * the quickstart next to the gateway) do not mix their counts.
 */
export class TokenServerMetrics {
  readonly registry = new Registry()
  readonly tokensIssued = new Counter({
    name: 'gatehouse_token_server_tokens_issued_total',
    help: 'Access tokens issued, by grant type and token strategy',
    labelNames: ['grant_type', 'strategy'] as const,
    registers: [this.registry],
  })
  readonly introspections = new Counter({
    name: 'gatehouse_token_server_introspections_total',
    help: 'Token introspections, by result',
    labelNames: ['active'] as const,
    registers: [this.registry],
  })
  readonly revocations = new Counter({
    name: 'gatehouse_token_server_revocations_total',
    help: 'Tokens revoked, by how (revoke endpoint, admin delete by client)',
    labelNames: ['via'] as const,
    registers: [this.registry],
  })
  readonly clientAuthFailures = new Counter({
    name: 'gatehouse_token_server_client_auth_failures_total',
    help: 'Failed client authentications at the token and revocation endpoints',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  })
  readonly storeLatency = new Histogram({
    name: 'gatehouse_token_server_store_duration_seconds',
    help: 'Store call latency, by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    // Sub-millisecond for SQLite reads, up to a slow Postgres commit.
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  })
  readonly requests = new Counter({
    name: 'gatehouse_token_server_http_requests_total',
    help: 'HTTP requests, by API, route and status',
    labelNames: ['api', 'route', 'status'] as const,
    registers: [this.registry],
  })
  /** What a shutdown waits for; also shows a server that is slower than its load. */
  readonly inFlight = new Gauge({
    name: 'gatehouse_token_server_http_requests_in_flight',
    help: 'HTTP requests received and not yet answered, by API',
    labelNames: ['api'] as const,
    registers: [this.registry],
  })
}

/** Store methods that are timed (everything but the lifecycle calls). */
const TIMED: ReadonlySet<string> = new Set([
  'createClient', 'getClient', 'listClients', 'updateClient', 'deleteClient', 'insertToken', 'getToken',
  'deleteToken', 'revokeByGrantId', 'deleteTokensOfClient', 'purgeExpiredTokens', 'insertKey', 'listKeys', 'deleteKeys', 'ping',
])

/**
 * The same store with every data call timed into `storeLatency`. A Proxy rather than a wrapper
 * class: the Store interface stays the single list of methods, and a new one is timed by
 * adding its name above.
 */
export function instrumentStore(store: Store, metrics: TokenServerMetrics): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver)
      if (typeof prop !== 'string' || !TIMED.has(prop) || typeof value !== 'function') {
        return typeof value === 'function' ? value.bind(target) : value
      }
      return async (...args: unknown[]) => {
        const end = metrics.storeLatency.startTimer({ operation: prop })
        try {
          const out: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
          end({ outcome: 'ok' })
          return out
        } catch (err) {
          end({ outcome: 'error' })
          throw err
        }
      }
    },
  })
}
