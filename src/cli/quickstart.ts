import { Command } from 'commander'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { dirname } from 'node:path'
import { parseDuration } from '../config/duration.js'
import { loadConfigFor } from '../config/load.js'
import { TOKEN_SERVER_CONFIG, type TokenServerConfig } from '../token-server/config.js'
import { collect } from './options.js'
import { processLogger } from './process-logger.js'
import { loadConfigOrExit } from './serve.js'
import { onShutdown, type BeginShutdown } from './shutdown.js'
import { loadTokenServerConfigOrExit, openStoreOrExit } from './token-server.js'
import { loadLoginAppConfigOrExit } from './login-app.js'

/** The example upstream's address; the example rules in rules/ point to it. */
export const ECHO_HOST = '127.0.0.1'
export const ECHO_PORT = 4460

/** Where the quickstart keeps the generated development system secret. */
const SECRET_FILE = 'data/system-secret'

export function quickstartCommand(): Command {
  return new Command('quickstart')
    .description(
      'run everything for a first look (what `npm start` runs): the gateway (config/quickstart.yml, rules/), ' +
        'the token server (config/token-server.yml, SQLite in ./data/), the login app (config/login-app.yml, with a demo client) ' +
        `and an echo upstream on ${ECHO_HOST}:${ECHO_PORT}`,
    )
    .option('-c, --config <file>', 'gateway config file(s) to use instead of config/quickstart.yml', collect, [])
    .option('--token-server-config <file>', 'token server config file(s) to use instead of config/token-server.yml', collect, [])
    .option('--login-app-config <file>', 'login app config file(s) to use instead of config/login-app.yml', collect, [])
    .action(async (opts: { config: string[]; tokenServerConfig: string[]; loginAppConfig: string[] }) => {
      // Read before anything is awaited: a parent killed while the parts start up (a busy
      // machine, an impatient Ctrl-C of npm) must still count as gone once the watch begins.
      const parent = process.ppid
      const config = await loadConfigOrExit(opts.config.length > 0 ? opts.config : ['config/quickstart.yml'])
      const tsFiles = opts.tokenServerConfig.length > 0 ? opts.tokenServerConfig : ['config/token-server.yml']
      const tsConfig = withDevSecret(tsFiles)
      const laConfig = loadLoginAppConfigOrExit(opts.loginAppConfig.length > 0 ? opts.loginAppConfig : ['config/login-app.yml'])
      // Loaded here, not at the top: every other verb starts faster without these modules.
      const { createEchoServer } = await import('../example/echo.js')
      const { createGateway } = await import('../gateway/gateway.js')
      const { createTokenServer } = await import('../token-server/server.js')
      const { startLoginApp } = await import('./login-app-start.js')
      const { demoClient, registerDemoClient } = await import('./quickstart-demo.js')
      const logger = await processLogger(config.log)

      // Each part that has started registers how to stop it, so a failure later (a port in use)
      // stops the earlier parts instead of leaving a half-working process behind.
      const closers: (() => Promise<void>)[] = []
      const drainers: (() => void)[] = []
      const stopAll = async (): Promise<void> => {
        for (const close of closers.reverse()) await close().catch(() => undefined)
      }
      try {
        const echo = createEchoServer()
        await new Promise<void>((resolve, reject) => {
          echo.once('error', reject).listen(ECHO_PORT, ECHO_HOST, () => resolve())
        })
        closers.push(async () => {
          echo.close()
          echo.closeAllConnections()
        })
        const e = echo.address() as AddressInfo
        logger.info({ upstream: `http://${e.address}:${e.port}` }, 'example echo upstream listening')

        // The quickstart migrates its own database; production runs `token-server migrate sql` first.
        const store = await openStoreOrExit(tsConfig.dsn, logger)
        closers.push(() => store.close())
        const applied = await store.migrate()
        if (applied > 0) logger.info({ migrations: applied }, 'token server database migrated')
        const tokenServer = createTokenServer(tsConfig, store, logger.child({ component: 'token-server' }))
        await tokenServer.start('all')
        closers.push(() => tokenServer.close(parseDuration(tsConfig.serve.shutdown_grace)))
        drainers.push(() => tokenServer.drain())
        if (laConfig.demo.client_id !== '') await registerDemoClient(tsConfig, demoClient(laConfig))

        const loginApp = await startLoginApp(laConfig, logger.child({ component: 'login-app' }), (message) => {
          throw new Error(message)
        })
        closers.push(() => loginApp.close())

        const gateway = createGateway(config, logger)
        closers.push(() => gateway.close())
        drainers.push(() => gateway.drain())
        await gateway.start()
      } catch (err) {
        await stopAll()
        throw err
      }
      // One delay for both parts: the longer of the two configured.
      const delayMs = Math.max(parseDuration(config.serve.shutdown_delay), parseDuration(tsConfig.serve.shutdown_delay))
      const begin = onShutdown(logger, { drain: () => drainers.forEach((d) => d()), close: stopAll }, delayMs)
      exitWithParent(begin, parent)
    })
}

/** How often the quickstart checks that the process that started it is still there. */
const PARENT_CHECK_MS = 1000

/**
 * Shuts down when the parent process (the terminal's shell, `npm start`) goes away without
 * passing a signal on: a development tool left running would keep the quickstart's ports, and
 * the next `npm start` would fail. An orphan is adopted by another process, so its parent id
 * changes. (`npm start` runs `exec node …`, so npm's forwarded SIGTERM reaches this process; this
 * covers an npm that is killed outright, or a script shell that forwards nothing.)
 */
export function exitWithParent(begin: BeginShutdown, parent: number, checkMs = PARENT_CHECK_MS): void {
  // Started by init (a container's entrypoint): there is no parent to outlive. The id is the one
  // read at start: read here, after start-up, it was init's already when npm had been killed
  // during start-up, and the orphan then never stopped (a busy run of test/npm-start.test.ts).
  if (parent <= 1) return
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    begin('the parent process is gone', { now: true })
  }, checkMs)
  // Watching is no reason to stay up.
  timer.unref()
}

/**
 * The token server config for the quickstart: when no system secret is configured, one is
 * generated once and kept in data/system-secret (0600), so tokens survive restarts without
 * the user having to invent a secret first. `--dev` semantics (plain-http issuer) apply.
 */
function withDevSecret(files: readonly string[]): TokenServerConfig {
  const env = { ...process.env }
  let configured = true
  try {
    configured = loadConfigFor(TOKEN_SERVER_CONFIG, files, env).secrets.system.length > 0
  } catch {
    // A broken config: the load below reports every problem.
  }
  if (!configured) env.SECRETS_SYSTEM = devSecret()
  return loadTokenServerConfigOrExit(files, true, env)
}

function devSecret(): string {
  try {
    return readFileSync(SECRET_FILE, 'utf8').trim()
  } catch {
    const secret = randomBytes(32).toString('base64url')
    mkdirSync(dirname(SECRET_FILE), { recursive: true })
    writeFileSync(SECRET_FILE, `${secret}\n`, { mode: 0o600 })
    return secret
  }
}
