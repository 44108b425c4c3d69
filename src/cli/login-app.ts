import { Command, InvalidArgumentError } from 'commander'
import { loadConfigFor } from '../config/load.js'
import { ConfigError } from '../errors.js'
import { LOGIN_APP_CONFIG, type LoginAppConfig } from '../login-app/config.js'
import { collect } from './options.js'
import { processLogger } from './process-logger.js'
import { onShutdown } from './shutdown.js'

/** `gatehouse login-app serve|hash-password`: the built-in login, consent and logout pages. */
export function loginAppCommand(): Command {
  const cmd = new Command('login-app').description(
    "the built-in login and consent app (development and demos): a client of the token server's admin API, as any Hydra login app",
  )
  cmd.addCommand(
    new Command('serve')
      .description('serve the login, consent and logout pages (default 127.0.0.1:3000)')
      .option('-c, --config <file>', 'config file (YAML or JSON); repeat to layer files, later ones win', collect, [])
      .action(async (opts: { config: string[] }) => {
        const config = loadLoginAppConfigOrExit(opts.config)
        const { startLoginApp } = await import('./login-app-start.js')
        const logger = await processLogger(config.log)
        const app = await startLoginApp(config, logger, fail)
        onShutdown(logger, { drain() {}, close: () => app.close() }, 0)
      }),
  )
  cmd.addCommand(
    new Command('hash-password')
      .description('read a password from stdin (never an argument: it would be in the shell history) and print its hash for the users file')
      .option('--iterations <n>', 'PBKDF2-SHA256 iterations (default: 600000)', positiveInteger)
      .action(async (opts: { iterations?: number }) => {
        const { passwordHasher } = await import('../login-app/users.js')
        const chunks: Buffer[] = []
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
        // One line: the newline `echo` or the terminal adds is not part of the password.
        const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
        if (password === '') fail('hash-password: no password on stdin (e.g. `read -rs p && printf %s "$p" | gatehouse login-app hash-password`)')
        process.stdout.write(`${await passwordHasher(opts.iterations).hash(password)}\n`)
      }),
  )
  return cmd
}

/** Loads and checks the login app's config; on problems prints every one and exits 1. */
export function loadLoginAppConfigOrExit(files: readonly string[], env: NodeJS.ProcessEnv = process.env): LoginAppConfig {
  try {
    return loadConfigFor(LOGIN_APP_CONFIG, files, env)
  } catch (err) {
    if (err instanceof ConfigError) fail(`invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join('\n')}`)
    throw err
  }
}

function positiveInteger(v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1000 || n > 10_000_000) throw new InvalidArgumentError('an integer from 1000 to 10000000')
  return n
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`)
  process.exit(1)
}
