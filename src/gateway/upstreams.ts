import { Pool } from 'undici'
import { GatehouseError } from '../errors.js'

/** Timeouts and limits for upstream connections, shared by every upstream origin. */
export interface UpstreamOptions {
  /** Time to establish a TCP (and TLS) connection. */
  readonly connectTimeoutMs: number
  /**
   * Time from dispatch until the upstream's response headers have arrived: waiting in the
   * pool's queue, connecting and sending included (forward.ts runs this deadline itself, since
   * undici's own headers timeout only starts once the request is written to a socket).
   */
  readonly headersTimeoutMs: number
  /** Longest pause between two chunks of the upstream's response body (0 disables). */
  readonly bodyTimeoutMs: number
  /** Most connections per origin (`serve.proxy.upstream.max_connections`); unlimited when absent. */
  readonly connections?: number
  /**
   * Most requests per origin waiting for one of those connections
   * (`serve.proxy.upstream.max_queued`); unlimited when absent. Beyond it requests fail at once
   * with GATEHOUSE_ERR_UPSTREAM_BUSY.
   */
  readonly maxQueued?: number
}

/**
 * How many requests one upstream origin holds: dispatched to its pool and without response
 * headers yet (queued, connecting, sent, or aborted but not yet let go by undici). Shared by
 * every route to that origin, so the bound is per origin as the pool is.
 */
export class OriginLoad {
  /** connections + queue: past this, a request would only wait in an ever longer queue. */
  readonly limit: number
  #inflight = 0

  constructor(limit: number) {
    this.limit = limit
  }

  /** Requests held now. */
  get inflight(): number {
    return this.#inflight
  }

  /** Counts one more request, or returns false (counting nothing) when the origin is full. */
  tryAcquire(): boolean {
    if (this.#inflight >= this.limit) return false
    this.#inflight++
    return true
  }

  /** The request got its response headers, failed, or was aborted; call once per tryAcquire. */
  release(): void {
    this.#inflight--
  }
}

/** An upstream URL resolved once: its pool, the base path to prefix and the Host to send. */
export interface UpstreamRoute {
  readonly pool: Pool
  /** The origin's in-flight count, checked before dispatch. */
  readonly load: OriginLoad
  /** Deadline from dispatch to response headers (UpstreamOptions.headersTimeoutMs). */
  readonly deadlineMs: number
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
  readonly #loads = new Map<string, OriginLoad>()
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
      // Bounded: a hanging upstream must not collect a socket (and a file descriptor on both
      // sides) per waiting client. OriginLoad bounds the queue in front of these connections.
      connections: o.connections ?? null,
      connectTimeout: o.connectTimeoutMs,
      headersTimeout: o.headersTimeoutMs,
      bodyTimeout: o.bodyTimeoutMs,
      // No pipelining: a proxied request may carry a streamed body, and one slow response
      // must not hold up unrelated requests queued behind it on the same socket.
      pipelining: 1,
    })
    this.#pools.set(origin, pool)
    this.#loads.set(origin, new OriginLoad((o.connections ?? Infinity) + (o.maxQueued ?? Infinity)))
    return pool
  }

  /** The pool, base path and Host for an upstream URL, cached per URL object. */
  route(url: URL): UpstreamRoute {
    if (this.#closed) throw new GatehouseError('GATEHOUSE_ERR_UNAVAILABLE', { reason: 'the gateway is shutting down' })
    let route = this.#routes.get(url)
    if (route === undefined) {
      const path = url.pathname
      const pool = this.pool(url.origin)
      route = {
        pool,
        // Set together with the pool, so it is there whenever the pool is.
        load: this.#loads.get(url.origin) as OriginLoad,
        deadlineMs: this.#opts.headersTimeoutMs,
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
    this.#loads.clear()
    await Promise.all(pools.map((p) => p.close()))
  }
}
