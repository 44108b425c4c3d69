import { Command } from 'commander'
import { VERSION } from '../version.js'
import { credentialsCommand } from './credentials.js'
import { exampleCommand } from './example.js'
import { healthCommand } from './health.js'
import { quickstartCommand } from './quickstart.js'
import { rulesCommand } from './rules.js'
import { serveCommand } from './serve.js'
import { tokenServerCommand } from './token-server.js'
import { hydraCommands } from './hydra/index.js'
import { janitorCommand } from './janitor.js'
import { migrateCommand } from './migrate.js'
import { loginAppCommand } from './login-app.js'

/** The `gatehouse` command line; every verb has --help (commander). */
export function buildProgram(): Command {
  const program = new Command('gatehouse')
    .description('Authorization gateway with an included OAuth2 token server')
    .version(VERSION, '-v, --version', 'print the version')
    .showHelpAfterError()
  program.addCommand(serveCommand())
  program.addCommand(rulesCommand())
  program.addCommand(healthCommand())
  program.addCommand(tokenServerCommand())
  for (const c of hydraCommands()) program.addCommand(c)
  // Hydra's `hydra migrate …` and `hydra janitor …`, also under `token-server`.
  program.addCommand(migrateCommand())
  program.addCommand(janitorCommand())
  program.addCommand(loginAppCommand())
  program.addCommand(quickstartCommand())
  program.addCommand(credentialsCommand())
  program.addCommand(exampleCommand())
  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`${VERSION}\n`)
    })
  return program
}
