import { Command, InvalidArgumentError } from 'commander'
import type { AddressInfo } from 'node:net'
import { processLogger } from './process-logger.js'
import { ECHO_HOST, ECHO_PORT } from './quickstart.js'
import { onShutdown } from './shutdown.js'

/**
 * `gatehouse example echo`: the quickstart's echo upstream on its own, for setups that run each
 * part in its own process or container (compose.yaml) instead of `gatehouse quickstart`.
 */
export function exampleCommand(): Command {
  const example = new Command('example').description('example services for trying Gatehouse out')
  example
    .command('echo')
    .description(`run only the quickstart's example upstream: it answers every request with a JSON echo of what it received (default ${ECHO_HOST}:${ECHO_PORT}, where the example rules forward to)`)
    .option('--host <host>', 'address to listen on', ECHO_HOST)
    .option('--port <port>', 'port to listen on', port, ECHO_PORT)
    .action(async (opts: { host: string; port: number }) => {
      // Loaded here, not at the top: every other verb starts faster without these modules.
      const { createEchoServer } = await import('../example/echo.js')
      const logger = await processLogger({ level: 'info', format: 'json' })
      const echo = createEchoServer()
      await new Promise<void>((resolve, reject) => {
        echo.once('error', reject).listen(opts.port, opts.host, () => resolve())
      })
      const { address, port: bound } = echo.address() as AddressInfo
      logger.info({ upstream: `http://${address}:${bound}` }, 'example echo upstream listening')
      // An example, not a service: nothing to drain, no delay.
      onShutdown(
        logger,
        {
          drain() {},
          async close() {
            echo.close()
            echo.closeAllConnections()
          },
        },
        0,
      )
    })
  return example
}

function port(value: string): number {
  const n = Number(value)
  if (!/^\d{1,5}$/.test(value) || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)')
  return n
}
