/**
 * `serve.proxy.workers` > 1: node:cluster. The primary supervises and serves the metrics port (the
 * sum over the workers); every worker runs the rest of the gateway (proxy and API, sharing their
 * ports through the primary), loads and watches the rules itself and answers its own health
 * checks. Caches are per worker.
 */
import cluster, { type Worker } from 'node:cluster'
import type { AddressInfo } from 'node:net'
import { availableParallelism } from 'node:os'
import type { Logger } from 'pino'
import type { GatehouseConfig } from '../config/types.js'
import { clusterMetricsSource } from '../observability/cluster-metrics.js'
import { createMetricsHandler } from '../observability/metrics-server.js'
import { createHttpServer, listen } from '../util/http-server.js'
import type { BeginShutdown } from './shutdown.js'

/** Worker → primary, once its gateway listens. */
interface ReadyMessage {
  readonly gatehouse: 'ready'
  readonly proxy: number
  readonly api: number
}
/** Primary → worker: shut down gracefully. */
const SHUTDOWN = { gatehouse: 'shutdown' } as const

/** Restart delays double per quick death up to this; a worker that lived long resets them. */
const MAX_BACKOFF_MS = 30_000
const FIRST_BACKOFF_MS = 500
const STABLE_AFTER_MS = 30_000
/** After the delay and the grace, workers still running are killed; this margin lets them log and exit first. */
const KILL_MARGIN_MS = 5_000

/** `workers: auto` is one per core the process may use. */
export function workerCount(setting: number | 'auto'): number {
  return setting === 'auto' ? availableParallelism() : setting
}

/** True in a process the primary forked. */
export function isClusterWorker(): boolean {
  return cluster.isWorker
}

export interface Supervisor {
  /** Asks every worker to shut down gracefully; rejects if one fails to exit cleanly. */
  stop(): Promise<void>
}

/**
 * Forks `count` workers and keeps that many running: a worker that dies is replaced after a
 * backoff. If a worker dies before any has ever become ready (a port in use, a broken
 * certificate), restarting would only repeat that, so the primary stops and exits 1. `stopMs` is
 * how long a worker may take to stop (shutdown delay + grace) before it is killed.
 */
export function superviseWorkers(count: number, logger: Logger, stopMs: number): Supervisor {
  const started = new Map<Worker, number>()
  const restarts = new Set<NodeJS.Timeout>()
  let anyReady = false
  let readyCount = 0
  let failures = 0
  let stopping: { done: () => void; failed: string[] } | undefined
  let stopped: Promise<void> | undefined

  const fork = (): void => {
    const worker = cluster.fork()
    started.set(worker, Date.now())
    worker.on('message', (m: unknown) => {
      if (!isReady(m)) return
      anyReady = true
      readyCount++
      logger.info({ worker_pid: worker.process.pid, proxy_port: m.proxy, api_port: m.api }, 'gateway worker ready')
      if (readyCount === count) logger.info({ workers: count, proxy_port: m.proxy, api_port: m.api }, 'gateway workers ready')
    })
  }

  cluster.on('exit', (worker, code, signal) => {
    const since = started.get(worker) ?? Date.now()
    started.delete(worker)
    if (stopping !== undefined) {
      if (code !== 0) stopping.failed.push(`worker ${worker.process.pid} exited with ${signal ?? `code ${code}`}`)
      if (started.size === 0) stopping.done()
      return
    }
    if (!anyReady) {
      logger.error({ worker_pid: worker.process.pid, code, signal }, 'a gateway worker failed to start; stopping')
      stop().then(
        () => process.exit(1),
        () => process.exit(1),
      )
      return
    }
    failures = Date.now() - since > STABLE_AFTER_MS ? 0 : failures + 1
    const delay = Math.min(MAX_BACKOFF_MS, failures === 0 ? 0 : FIRST_BACKOFF_MS * 2 ** (failures - 1))
    logger.warn({ worker_pid: worker.process.pid, code, signal, restart_in_ms: delay }, 'gateway worker died; restarting it')
    const timer = setTimeout(() => {
      restarts.delete(timer)
      fork()
    }, delay)
    restarts.add(timer)
  })

  function stop(): Promise<void> {
    stopped ??= stopAll()
    return stopped
  }

  function stopAll(): Promise<void> {
    for (const t of restarts) clearTimeout(t)
    restarts.clear()
    return new Promise<void>((resolve, reject) => {
      const kill = setTimeout(() => {
        for (const w of started.keys()) w.process.kill('SIGKILL')
      }, stopMs + KILL_MARGIN_MS)
      stopping = {
        failed: [],
        done: () => {
          clearTimeout(kill)
          if (stopping!.failed.length > 0) reject(new Error(stopping!.failed.join('; ')))
          else resolve()
        },
      }
      if (started.size === 0) return stopping.done()
      // A message, not a forwarded signal: with Ctrl-C the terminal signals the workers too,
      // and a second signal would make them exit at once instead of draining.
      for (const w of started.keys()) {
        if (w.isConnected()) w.send(SHUTDOWN)
        else w.process.kill('SIGTERM')
      }
    })
  }

  logger.info({ workers: count }, 'starting gateway workers')
  for (let i = 0; i < count; i++) fork()
  return { stop }
}

/**
 * In a worker: tells the primary the gateway listens, and shuts down (through `begin`, the same
 * path as a signal) when the primary asks or disappears: without the primary no connections
 * arrive, and an orphan would only hold resources.
 */
export function joinCluster(begin: BeginShutdown, addresses: { proxy: AddressInfo; api: AddressInfo }): void {
  process.on('message', (m: unknown) => {
    if (typeof m === 'object' && m !== null && (m as { gatehouse?: unknown }).gatehouse === SHUTDOWN.gatehouse) begin('shutdown requested by the primary')
  })
  // The primary owns the listening socket: without it nothing new can arrive, so no delay.
  process.on('disconnect', () => begin('the cluster primary is gone', { now: true }))
  const ready: ReadyMessage = { gatehouse: 'ready', proxy: addresses.proxy.port, api: addresses.api.port }
  process.send?.(ready)
}

function isReady(m: unknown): m is ReadyMessage {
  return typeof m === 'object' && m !== null && (m as { gatehouse?: unknown }).gatehouse === 'ready'
}

/**
 * In the primary: serves `serve.prometheus` with the sum over the workers' registries (workers do
 * not listen on it). Listens before any worker is forked, so a port in use stops `serve` at once.
 * Resolves with the function that closes it, letting scrapes in flight finish within `graceMs`.
 */
export async function serveClusterMetrics(prometheus: GatehouseConfig['serve']['prometheus'], logger: Logger): Promise<(graceMs: number) => Promise<void>> {
  const served = createHttpServer({ where: 'serve.prometheus', logger }, createMetricsHandler(clusterMetricsSource(), prometheus.metrics_path, logger))
  const m = await listen(served.server, prometheus.port, prometheus.host)
  logger.info({ metrics: `${m.address}:${m.port}${prometheus.metrics_path}` }, 'cluster metrics listening')
  return async (graceMs) => {
    await served.closeGracefully(graceMs)
    served.close()
  }
}
