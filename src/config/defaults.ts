import { deepFreeze } from '../util/deep-merge.js'
import type { CorsSettings, GatehouseConfig } from './types.js'

/** Oathkeeper's CORS defaults, for the proxy and the API alike; off until `enabled: true`. */
const CORS_DEFAULTS: CorsSettings = {
  enabled: false,
  allowed_origins: ['*'],
  allowed_methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
  allowed_headers: ['Authorization', 'Content-Type'],
  exposed_headers: ['Content-Type'],
  allow_credentials: false,
  max_age: 0,
  debug: false,
}

/**
 * Defaults, Oathkeeper's where it has one. Files and environment are deep-merged over these, so
 * a config only states what differs. Entries of the handler maps get `enabled: false, config: {}`
 * from the schema (see schema.ts), since their ids are not known here.
 */
export const DEFAULTS: GatehouseConfig = deepFreeze({
  serve: {
    proxy: {
      // '' = all interfaces (IPv6 and IPv4), as Oathkeeper listens when no host is set.
      host: '',
      port: 4455,
      // Oathkeeper's: read covers receiving the request, write the upstream's answer, idle keep-alive.
      timeout: { read: '5s', write: '120s', idle: '120s' },
      // Off: incoming X-Forwarded-* headers are client-controlled unless a trusted proxy sets them.
      trust_forwarded_headers: false,
      // Oathkeeper matches the Host header even with trusted forwarded headers.
      match_forwarded_host: false,
      cors: CORS_DEFAULTS,
      // No cert and key: plain HTTP, as Oathkeeper.
      tls: {},
      workers: 1,
      // Enough for a busy upstream, while a hanging one costs at most 256 sockets and a queue
      // that drains within one write timeout instead of growing with every waiting client.
      upstream: { max_connections: 256, max_queued: 1024 },
    },
    api: { host: '', port: 4456, tls: {}, cors: CORS_DEFAULTS, explain: { enabled: false } },
    prometheus: { host: '', port: 9000, metrics_path: '/metrics' },
    // The token server's default too; Kubernetes waits 30s before SIGKILL, so this fits well inside.
    shutdown_grace: '10s',
    // Multiple encoding of '.', '/' and '\\' is refused: an upstream that decodes twice would
    // read a dot segment or a separator where a name was matched.
    allow_double_encoded_paths: false,
    // No delay, as Oathkeeper: without a load balancer (a laptop, the quickstart, tests, systemd)
    // nobody reads the 503, and every stop would wait for nothing. Behind one, set it to how long
    // the balancer takes to notice (deploy/kubernetes sets 5s). delay + grace must stay below
    // the orchestrator's kill timeout (Kubernetes: terminationGracePeriodSeconds, 30s).
    shutdown_delay: '0s',
  },
  access_rules: {
    repositories: [],
    matching_strategy: 'regexp',
    precedence: 'exclusive',
    repository_poll_interval: '30s',
  },
  authenticators: {},
  authorizers: {},
  mutators: {},
  errors: {
    fallback: ['json'],
    // Oathkeeper enables the json error handler by default, so errors always have a body.
    handlers: { json: { enabled: true, config: {} } },
  },
  log: { level: 'info', format: 'json' },
} satisfies GatehouseConfig)
