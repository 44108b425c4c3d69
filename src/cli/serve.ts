import { Command } from 'commander'
import { parseDuration } from '../config/duration.js'
import type { GatehouseConfig } from '../config/types.js'
import { readTlsMaterial, tlsEnabled, type TlsConfig } from '../config/tls.js'
import { ConfigError } from '../errors.js'
import type { Gateway, GatewayAddresses } from '../gateway/gateway.js'
import { collect } from './options.js'
import { processLogger } from './process-logger.js'
import { onShutdown } from './shutdown.js'

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the gateway: reverse proxy (4455) and decision/management API (4456)')
    .option('-c, --config <file>', 'config file (YAML or JSON); repeat to layer files, later ones win', collect, [])
    .action(async (opts: { config: string[] }) => {
      const config = await loadConfigOrExit(opts.config)
      // Loaded here, not at the top: every other verb starts faster without the gateway's modules.
      const { createGateway } = await import('../gateway/gateway.js')
      const { isClusterWorker, joinCluster, serveClusterMetrics, superviseWorkers, workerCount } = await import('./cluster.js')
      const logger = await processLogger(config.log)
      const workers = workerCount(config.serve.proxy.workers)
      if (workers > 1 && !isClusterWorker()) {
        // Checked here too, so that a broken certificate is one message, not one per worker.
        const problems = [tlsProblems(config.serve.proxy.tls, 'serve.proxy.tls'), tlsProblems(config.serve.api.tls, 'serve.api.tls')].flat()
        if (problems.length > 0) exitWithProblems(problems)
        // A port in use throws, as the single-process gateway's does (before any worker is forked).
        const closeMetrics = await serveClusterMetrics(config.serve.prometheus, logger)
        // Each worker keeps accepting for the delay itself; the primary's listening socket stays
        // open as long as one of them does.
        const grace = parseDuration(config.serve.shutdown_grace)
        const supervisor = superviseWorkers(workers, logger, parseDuration(config.serve.shutdown_delay) + grace)
        // The metrics port last: it reports the workers until they are gone.
        const close = (): Promise<void> => supervisor.stop().finally(() => closeMetrics(grace))
        onShutdown(logger, { drain() {}, close }, 0)
        return
      }
      let addresses: GatewayAddresses
      let gateway: Gateway
      try {
        const worker = isClusterWorker()
        // In a worker the primary serves the metrics port, asking each worker for its registry.
        gateway = createGateway(config, logger, { serveMetrics: !worker })
        if (worker) (await import('../observability/cluster-metrics.js')).offerMetricsToPrimary(gateway.metricsRegistry)
        addresses = await gateway.start()
      } catch (err) {
        if (err instanceof ConfigError) exitWithProblems(err.problems)
        // A worker must not linger (its IPC channel would keep it alive) after a failed start.
        if (isClusterWorker()) {
          process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
          process.exit(1)
        }
        throw err
      }
      const begin = onShutdown(logger, gateway, parseDuration(config.serve.shutdown_delay))
      if (isClusterWorker()) joinCluster(begin, addresses)
    })
}

function tlsProblems(tls: TlsConfig, where: string): readonly string[] {
  if (!tlsEnabled(tls)) return []
  try {
    readTlsMaterial(tls, where)
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
}

function exitWithProblems(problems: readonly string[]): never {
  process.stderr.write(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`)
  process.exit(1)
}

/**
 * Loads config, with every handler id and each handler's global config checked against the
 * registries; on problems prints every one of them and exits 1 (nothing is started).
 */
export async function loadConfigOrExit(files: readonly string[]): Promise<GatehouseConfig> {
  // Loaded here: the handler registries pull in every handler, which the other verbs do not need.
  const { loadGatewayConfig } = await import('../pipeline/handler-settings.js')
  try {
    return loadGatewayConfig(files, process.env)
  } catch (err) {
    if (err instanceof ConfigError) exitWithProblems(err.problems)
    throw err
  }
}
