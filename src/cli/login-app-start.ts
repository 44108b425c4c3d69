import { ConfigError } from '../errors.js'
import { createLoginApp, type LoginApp } from '../login-app/server.js'
import type { LoginAppConfig } from '../login-app/config.js'
import type { Logger } from '../observability/logger.js'

/**
 * Starts the login app for `login-app serve` and the quickstart: a broken users file or a port in
 * use is one clear line through `fail`, not a stack trace.
 */
export async function startLoginApp(config: LoginAppConfig, logger: Logger, fail: (message: string) => never): Promise<LoginApp> {
  let app: LoginApp
  try {
    app = createLoginApp(config, { logger })
  } catch (err) {
    if (err instanceof ConfigError) fail(`invalid users file:\n${err.problems.map((p) => `  - ${p}`).join('\n')}`)
    throw err
  }
  try {
    const a = await app.start()
    logger.info({ url: `http://${a.address}:${a.port}/`, admin: config.urls.admin }, 'login app listening')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') fail(`cannot listen: ${(err as Error).message}`)
    throw err
  }
  return app
}
