import { Pool } from 'undici'
import { GatehouseError } from '../errors.js'

/** Timeouts and limits for upstream connections, shared by every upstream origin. */
export interface UpstreamOptions {
  /** Time to establish a TCP (and TLS) connection. */
  readonly connectTimeoutMs: number
  /** Time from sending the request until the upstream's response headers have arrived. */
  readonly headersTimeoutMs: number
  /** Longest pause between two chunks of the upstream's response body (0 disables). */
  readonly bodyTimeoutMs: number
  /** Most connections per origin; unlimited when absent. */
  readonly connections?: number
}

/** An upstream URL resolved once: its pool, the base path to prefix and the Host to send. */
export interface UpstreamRoute {
  readonly pool: Pool
  /** upstream.url's path without a trailing slash ('' for the root). */
  readonly basePath: string
  /** `host[:port]` of the upstream, the default Host header. */
  readonly host: string
}

/**
 * One keep-alive undici Pool per upstream origin, created on first use and reused by every
 * rule that points there; closed on shutdown.
 */
export class Upstreams {
  readonly #opts: UpstreamOptions
  readonly #pools = new Map<string, Pool>()
  // Rules keep their compiled upstream URL object for their whole life, so resolving it once
  // per URL object saves the origin/pathname string work on every request; a WeakMap lets
  // routes of replaced rule sets be collected.
  readonly #routes = new WeakMap<URL, UpstreamRoute>()
  #closed = false

  constructor(opts: UpstreamOptions) {
    this.#opts = opts
  }

  /** The pool for an origin (`http://host:port`), created on first use. */
  pool(origin: string): Pool {
    let pool = this.#pools.get(origin)
    if (pool !== undefined) return pool
    if (this.#closed) {
      throw new GatehouseError('GATEHOUSE_ERR_UNAVAILABLE', { reason: 'the gateway is shutting down' })
    }
    const o = this.#opts
    pool = new Pool(origin, {
      connections: o.connections ?? null,
      connectTimeout: o.connectTimeoutMs,
      headersTimeout: o.headersTimeoutMs,
      bodyTimeout: o.bodyTimeoutMs,
      // No pipelining: a proxied request may carry a streamed body, and one slow response
      // must not hold up unrelated requests queued behind it on the same socket.
      pipelining: 1,
    })
    this.#pools.set(origin, pool)
    return pool
  }

  /** The pool, base path and Host for an upstream URL, cached per URL object. */
  route(url: URL): UpstreamRoute {
    if (this.#closed) throw new GatehouseError('GATEHOUSE_ERR_UNAVAILABLE', { reason: 'the gateway is shutting down' })
    let route = this.#routes.get(url)
    if (route === undefined) {
      const path = url.pathname
      route = {
        pool: this.pool(url.origin),
        basePath: path.endsWith('/') ? path.slice(0, -1) : path,
        host: url.host,
      }
      this.#routes.set(url, route)
    }
    return route
  }

  /** Closes every pool, letting requests in flight finish; later calls to pool() fail with 503. */
  async close(): Promise<void> {
    this.#closed = true
    const pools = [...this.#pools.values()]
    this.#pools.clear()
    await Promise.all(pools.map((p) => p.close()))
  }
}
