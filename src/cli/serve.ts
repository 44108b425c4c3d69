import { Command } from 'commander'
import { loadConfig } from '../config/load.js'
import { ConfigError } from '../errors.js'
import { collect } from './options.js'
import { onShutdown } from './shutdown.js'

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the gateway: reverse proxy (4455) and decision/management API (4456)')
    .option('-c, --config <file>', 'config file (YAML or JSON); repeat to layer files, later ones win', collect, [])
    .action(async (opts: { config: string[] }) => {
      const config = loadConfigOrExit(opts.config)
      // Loaded here, not at the top: every other verb starts faster without the gateway's modules.
      const { createGateway } = await import('../gateway/gateway.js')
      const { createLogger } = await import('../observability/logger.js')
      const logger = createLogger(config.log)
      const gateway = createGateway(config, logger)
      await gateway.start()
      onShutdown(logger, () => gateway.close())
    })
}

/** Loads config; on problems prints every one of them and exits 1 (nothing is started). */
export function loadConfigOrExit(files: readonly string[]): ReturnType<typeof loadConfig> {
  try {
    return loadConfig(files, process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join('\n')}\n`)
      process.exit(1)
    }
    throw err
  }
}
