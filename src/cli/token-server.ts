import { Command, Argument } from 'commander'
import { parseDuration } from '../config/duration.js'
import { loadConfigFor } from '../config/load.js'
import { ConfigError } from '../errors.js'
import { startupProblems, TOKEN_SERVER_CONFIG, type TokenServerConfig } from '../token-server/config.js'
import type { Listen } from '../token-server/server.js'
import { StoreUnavailableError, type Store } from '../token-server/store/types.js'
import type { Logger } from '../observability/logger.js'
import { hydraCommands } from './hydra/index.js'
import { janitorCommand } from './janitor.js'
import { migrateCommand } from './migrate.js'
import { collect } from './options.js'
import { processLogger } from './process-logger.js'
import { onShutdown } from './shutdown.js'

/**
 * `gatehouse token-server serve|migrate|janitor` and Hydra's client verbs (`create client`,
 * `perform authorization-code`…): the Hydra-compatible OAuth2 server.
 */
export function tokenServerCommand(): Command {
  const cmd = new Command('token-server').description('the included OAuth2 token server (Hydra-compatible public and admin APIs)')
  cmd.addCommand(
    new Command('serve')
      .description('serve the public API (4444), the admin API (4445), or both')
      .addArgument(new Argument('[which]', 'which APIs to serve').choices(['all', 'public', 'admin']).default('all'))
      .option('-c, --config <file>', 'config file (YAML or JSON); repeat to layer files, later ones win', collect, [])
      .option('--dev', 'development mode: allow a plain-http issuer URL', false)
      .action(async (which: Listen, opts: { config: string[]; dev: boolean }) => {
        const config = loadTokenServerConfigOrExit(opts.config, opts.dev)
        // Loaded here, not at the top: the Hydra-style client verbs start faster without them.
        const { createTokenServer, NotMigratedError } = await import('../token-server/server.js')
        const logger = await processLogger(config.log)
        const store = await openStoreOrExit(config.dsn, logger)
        const server = createTokenServer(config, store, logger)
        try {
          await server.start(which)
        } catch (err) {
          await store.close().catch(() => undefined)
          if (err instanceof NotMigratedError || err instanceof StoreUnavailableError) fail(err.message)
          if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') fail(`cannot listen: ${(err as Error).message}`)
          throw err
        }
        onShutdown(
          logger,
          { drain: () => server.drain(), close: () => server.close(parseDuration(config.serve.shutdown_grace)) },
          parseDuration(config.serve.shutdown_delay),
        )
      }),
  )
  cmd.addCommand(migrateCommand())
  cmd.addCommand(janitorCommand())
  // Hydra's client verbs too, so that `gatehouse token-server <verb>` is `hydra <verb>` throughout.
  for (const c of hydraCommands()) cmd.addCommand(c)
  return cmd
}

/** Loads and checks the config; on problems prints every one and exits 1, before anything starts. */
export function loadTokenServerConfigOrExit(files: readonly string[], dev: boolean, env: NodeJS.ProcessEnv = process.env): TokenServerConfig {
  let config: TokenServerConfig
  try {
    // `--dev` is Hydra's development mode, which is also the config key `dev` (DEV=true).
    config = loadConfigFor(TOKEN_SERVER_CONFIG, files, dev ? { ...env, DEV: 'true' } : env)
  } catch (err) {
    if (err instanceof ConfigError) fail(`invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join('\n')}`)
    throw err
  }
  const problems = startupProblems(config, { dev })
  if (problems.length > 0) fail(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  return config
}

/**
 * Opens the DSN's store for serving (SQLite writes in a thread of their own, off the event loop);
 * a bad DSN or an unopenable file is one clear line and exit 1.
 */
export async function openStoreOrExit(dsn: string, logger: Logger): Promise<Store> {
  const { openStore } = await import('../token-server/store/open.js')
  try {
    return openStore(dsn, { logger, writerThread: true })
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StoreUnavailableError) fail(`dsn: ${err.message}`)
    throw err
  }
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`)
  process.exit(1)
}
