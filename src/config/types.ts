import type { MatchingStrategy } from '../rules/types.js'
import type { TlsConfig } from './tls.js'

/** `authenticators.<id>`, `authorizers.<id>`, … in the config file. */
export interface HandlerSettings {
  readonly enabled: boolean
  readonly config: Readonly<Record<string, unknown>>
}

/** Durations are kept as the strings written in the file ("30s"); see parseDuration. */
export interface ProxyTimeouts {
  readonly read: string
  readonly write: string
  readonly idle: string
}

/**
 * `serve.proxy.upstream` (beyond Oathkeeper): bounds per upstream origin, per worker process.
 * A request that finds both full is answered 503 GATEHOUSE_ERR_UPSTREAM_BUSY with Retry-After at
 * once; `serve.proxy.timeout.write` covers a queued request's wait too.
 */
export interface UpstreamLimits {
  /** Most open connections to one origin. Default 256. */
  readonly max_connections: number
  /** Most requests waiting for one of those connections. Default 1024. */
  readonly max_queued: number
}

/** `serve.proxy.cors`, `serve.api.cors`: Oathkeeper's keys and meaning (rs/cors). */
export interface CorsSettings {
  /** Off by default: no CORS headers, and preflights go through the rules like any request. */
  readonly enabled: boolean
  /** Origins allowed; `*` allows all, `https://*.example.com` one wildcard each. Default `["*"]`. */
  readonly allowed_origins: readonly string[]
  /** Default GET, POST, PUT, PATCH, DELETE. */
  readonly allowed_methods: readonly string[]
  /** Request headers a preflight may ask for; `*` allows all. Default Authorization, Content-Type. */
  readonly allowed_headers: readonly string[]
  /** Response headers the browser lets scripts read. Default Content-Type. */
  readonly exposed_headers: readonly string[]
  readonly allow_credentials: boolean
  /** Seconds a preflight answer may be cached; 0 = no Access-Control-Max-Age. */
  readonly max_age: number
  /** Log why a request got no CORS headers. */
  readonly debug: boolean
}

/** `serve.prometheus`: where the metrics are served. */
export interface PrometheusSettings {
  /** '' listens on all interfaces. */
  readonly host: string
  readonly port: number
  /** Default /metrics. */
  readonly metrics_path: string
}

/** The gateway's configuration, after defaults and validation; frozen. Oathkeeper's key layout. */
export interface GatehouseConfig {
  readonly serve: {
    readonly proxy: {
      readonly host: string
      readonly port: number
      readonly timeout: ProxyTimeouts
      readonly trust_forwarded_headers: boolean
      /**
       * Beyond Oathkeeper: with trust_forwarded_headers, match rules against X-Forwarded-Host
       * instead of Host. Default false: Oathkeeper matches Host.
       */
      readonly match_forwarded_host: boolean
      readonly cors: CorsSettings
      /** HTTPS when cert and key are set (Oathkeeper's `serve.proxy.tls`); files are reloaded on change. */
      readonly tls: TlsConfig
      /** Beyond Oathkeeper: processes serving the gateway (node:cluster); `auto` = one per core. */
      readonly workers: number | 'auto'
      readonly upstream: UpstreamLimits
    }
    readonly api: {
      readonly host: string
      readonly port: number
      readonly tls: TlsConfig
      readonly cors: CorsSettings
      /**
       * `POST /rules/explain`: runs a request description through the rules with a trace and
       * answers every step (redacted). Off by default: it tells whoever reaches the API port how
       * each rule treats a request, more than a 401/403 would tell a client.
       */
      readonly explain: { readonly enabled: boolean }
    }
    readonly prometheus: PrometheusSettings
    /**
     * Beyond Oathkeeper: accept paths with a double-encoded dot, slash or backslash (`%252e`,
     * `%252f`, `%255c`), in the proxy and the decision API. Default false: 400.
     */
    readonly allow_double_encoded_paths: boolean
    /** Beyond Oathkeeper: on SIGTERM, how long in-flight requests may take before connections are cut. */
    readonly shutdown_grace: string
    /**
     * Beyond Oathkeeper: on SIGTERM, how long the listeners keep accepting (with `/health/ready`
     * already answering 503) before they stop: the time a load balancer needs to notice.
     */
    readonly shutdown_delay: string
  }
  readonly access_rules: {
    /** Repository URLs: file://, plain paths (files or directories), inline://, http(s)://. */
    readonly repositories: readonly string[]
    readonly matching_strategy: MatchingStrategy
    /**
     * What happens when several rules match a request: `exclusive` (default, as Oathkeeper) answers
     * 500; `priority` lets the rule with the highest `priority` answer, and only a tie is a 500.
     */
    readonly precedence: 'exclusive' | 'priority'
    /** How often http(s) repositories are re-fetched (duration string). */
    readonly repository_poll_interval: string
  }
  readonly authenticators: Readonly<Record<string, HandlerSettings>>
  readonly authorizers: Readonly<Record<string, HandlerSettings>>
  readonly mutators: Readonly<Record<string, HandlerSettings>>
  readonly errors: {
    readonly fallback: readonly string[]
    readonly handlers: Readonly<Record<string, HandlerSettings>>
  }
  readonly log: {
    readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'
    readonly format: 'json' | 'text'
  }
}
