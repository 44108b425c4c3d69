/**
 * The JSON schema (draft-07) of the gateway config, in Oathkeeper's key layout. It is the single
 * source of truth for validation (load.ts) and for mapping environment variables to key paths
 * and value types (env.ts). `additionalProperties: false` at every level we own, so a typo such
 * as `serve.proxy.prot` is reported instead of silently ignored.
 */

import { tlsSchema } from './tls.js'

/** The subset of JSON schema this file uses; env.ts walks it. */
export interface SchemaNode {
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean'
  readonly properties?: Readonly<Record<string, SchemaNode>>
  readonly required?: readonly string[]
  readonly additionalProperties?: boolean | SchemaNode
  readonly items?: SchemaNode
  /** Alternatives (e.g. a number or "auto"); env.ts coerces to a number when one takes numbers. */
  readonly anyOf?: readonly SchemaNode[]
  readonly enum?: readonly unknown[]
  readonly format?: string
  readonly minimum?: number
  readonly maximum?: number
  readonly minLength?: number
  readonly maxLength?: number
  readonly pattern?: string
  readonly default?: unknown
  readonly description?: string
  /** What the keys of an object are, in messages: `unknown authenticator id (known: …)`. */
  readonly title?: string
}

/** Custom ajv format for Go duration strings ("5s", "1m30s"); registered by load.ts. */
export const DURATION_FORMAT = 'duration'

export const duration: SchemaNode = { type: 'string', format: DURATION_FORMAT }
export const port: SchemaNode = { type: 'integer', minimum: 0, maximum: 65535 }
export const nonEmptyString: SchemaNode = { type: 'string', minLength: 1 }

/** Closed object: every property listed is required (defaults fill them in before validation). */
export function object(properties: Record<string, SchemaNode>, description?: string): SchemaNode {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
    ...(description === undefined ? {} : { description }),
  }
}

/**
 * `authenticators.<id>` and friends. Only the envelope is checked here: the contents of `config`
 * are validated later, by each handler's own schema, after a rule's config is merged over it.
 * Defaults here (not in defaults.ts) because entries are keyed by handler ids we do not know.
 */
const handlerSettings: SchemaNode = {
  type: 'object',
  properties: {
    enabled: { type: 'boolean', default: false },
    config: { type: 'object', default: {} },
  },
  additionalProperties: false,
}

const handlerMap: SchemaNode = { type: 'object', additionalProperties: handlerSettings }

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

/** `serve.proxy.cors` and `serve.api.cors`: Oathkeeper's keys (see src/gateway/cors.ts). */
const cors: SchemaNode = object({
  enabled: { type: 'boolean' },
  allowed_origins: { type: 'array', items: nonEmptyString, description: '"*" allows all; one "*" inside an origin is a wildcard' },
  allowed_methods: { type: 'array', items: { type: 'string', enum: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'TRACE', 'PATCH'] } },
  allowed_headers: { type: 'array', items: nonEmptyString },
  exposed_headers: { type: 'array', items: nonEmptyString },
  allow_credentials: { type: 'boolean' },
  max_age: { type: 'integer', minimum: 0, description: 'seconds a browser may cache a preflight answer; 0 = not sent' },
  debug: { type: 'boolean' },
})

export const configSchema: SchemaNode = object({
  serve: object({
    proxy: object({
      host: { type: 'string', description: "'' listens on all interfaces" },
      port,
      timeout: object({ read: duration, write: duration, idle: duration }),
      trust_forwarded_headers: { type: 'boolean' },
      match_forwarded_host: { type: 'boolean', description: 'with trust_forwarded_headers: match X-Forwarded-Host instead of Host' },
      cors,
      tls: tlsSchema(),
      workers: { anyOf: [{ type: 'integer', minimum: 1, maximum: 1024 }, { type: 'string', enum: ['auto'] }] },
      upstream: object({
        max_connections: { type: 'integer', minimum: 1, description: 'per upstream origin (and per worker)' },
        max_queued: { type: 'integer', minimum: 0, description: 'requests waiting for a connection, per origin; beyond it 503 at once' },
      }),
    }),
    api: object({
      host: { type: 'string' },
      port,
      tls: tlsSchema(),
      cors,
      explain: object({ enabled: { type: 'boolean', description: 'serve POST /rules/explain (rules explain --endpoint); off by default' } }),
    }),
    prometheus: object({ host: { type: 'string' }, port, metrics_path: { type: 'string', pattern: '^/' } }),
    shutdown_grace: duration,
    allow_double_encoded_paths: { type: 'boolean', description: 'accept %252e, %252f, %255c in paths (400 by default)' },
    shutdown_delay: duration,
  }),
  access_rules: object({
    repositories: { type: 'array', items: nonEmptyString },
    matching_strategy: { type: 'string', enum: ['regexp', 'glob'] },
    precedence: { type: 'string', enum: ['exclusive', 'priority'] },
    repository_poll_interval: duration,
  }),
  authenticators: handlerMap,
  authorizers: handlerMap,
  mutators: handlerMap,
  errors: object({
    fallback: { type: 'array', items: nonEmptyString },
    handlers: handlerMap,
  }),
  log: object({
    level: { type: 'string', enum: LOG_LEVELS },
    format: { type: 'string', enum: ['json', 'text'] },
  }),
})

/**
 * Oathkeeper config keys Gatehouse does not implement. They are still rejected (silently
 * ignoring, say, TLS settings would be worse), but with a message that says why.
 */
export const UNSUPPORTED_OATHKEEPER_KEYS: ReadonlySet<string> = new Set([
  'version',
  'serve.api.timeout',
  // Our request metrics are labelled by rule id, never by path, and always named gatehouse_*.
  'serve.prometheus.metric_name_prefix',
  'serve.prometheus.hide_request_paths',
  'serve.prometheus.collapse_request_paths',
  'log.leak_sensitive_values',
  'log.redaction_text',
  'tracing',
  'profiling',
])
