import { Command } from 'commander'
import type { AddressInfo } from 'node:net'
import { createEchoServer } from '../example/echo.js'
import { createGateway } from '../gateway/gateway.js'
import { createLogger } from '../observability/logger.js'
import { collect } from './options.js'
import { loadConfigOrExit } from './serve.js'
import { onShutdown } from './shutdown.js'

/** The example upstream's address; the example rules in rules/ point to it. */
export const ECHO_HOST = '127.0.0.1'
export const ECHO_PORT = 4460

export function quickstartCommand(): Command {
  return new Command('quickstart')
    .description(`run everything for a first look (what \`npm start\` runs): the gateway with config/quickstart.yml and rules/, and an echo upstream on ${ECHO_HOST}:${ECHO_PORT}`)
    .option('-c, --config <file>', 'config file(s) to use instead of config/quickstart.yml', collect, [])
    .action(async (opts: { config: string[] }) => {
      const config = loadConfigOrExit(opts.config.length > 0 ? opts.config : ['config/quickstart.yml'])
      const logger = createLogger(config.log)
      const echo = createEchoServer()
      await new Promise<void>((resolve, reject) => {
        echo.once('error', reject).listen(ECHO_PORT, ECHO_HOST, () => resolve())
      })
      const e = echo.address() as AddressInfo
      logger.info({ upstream: `http://${e.address}:${e.port}` }, 'example echo upstream listening')
      const gateway = createGateway(config, logger)
      await gateway.start()
      onShutdown(logger, async () => {
        await gateway.close()
        echo.close()
        echo.closeAllConnections()
      })
    })
}
