import type { MatchingStrategy } from '../rules/types.js'

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

/** The gateway's configuration, after defaults and validation; frozen. Oathkeeper's key layout. */
export interface GatehouseConfig {
  readonly serve: {
    readonly proxy: {
      readonly host: string
      readonly port: number
      readonly timeout: ProxyTimeouts
      readonly trust_forwarded_headers: boolean
    }
    readonly api: {
      readonly host: string
      readonly port: number
    }
  }
  readonly access_rules: {
    /** Repository URLs: file://, plain paths (files or directories), inline://, http(s)://. */
    readonly repositories: readonly string[]
    readonly matching_strategy: MatchingStrategy
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
