import { writeFile } from 'node:fs/promises'
import { Command } from 'commander'
import { collect } from '../options.js'

export function testCommand(): Command {
  return new Command('test')
    .description(
      'run the test cases kept beside the rules (*.test.yml) through the real pipeline, offline: calls to introspection, JWKS, session stores and remote authorizers are answered by fixtures; TAP on stdout, exit 1 on a failure',
    )
    .argument('<paths...>', 'rule files or directories, as for validate; *.test.yml / *.test.yaml files among them (recursively) hold the cases')
    .option('-c, --config <file>', 'gateway config: enabled handlers, global handler config, matching strategy (default: every handler enabled)', collect, [])
    .option('--junit <file>', 'also write a JUnit XML report to this file')
    .action(async (paths: string[], opts: { config: string[]; junit?: string }) => {
      // Loaded here: running rules pulls in every handler and the gateway's decision path.
      const { validationConfig } = await import('../../rules/validate.js')
      const { findCaseFiles, loadSpecs, runCaseFiles } = await import('./runner.js')
      const { readCaseFile } = await import('./cases.js')
      const { junit, passed, tapLine } = await import('./report.js')
      const config = validationConfig(opts.config)
      const specs = await loadSpecs(paths)
      const names = await findCaseFiles(paths)
      if (names.length === 0) throw new Error(`no test files (*.test.yml, *.test.yaml) in ${paths.join(' ')}`)
      const files = await Promise.all(names.map(readCaseFile))
      const total = files.reduce((n, f) => n + f.cases.length, 0)
      // The plan goes out with the first result: a rule set that does not compile is an error, not a TAP run.
      let planned = false
      const plan = (): void => {
        if (!planned) process.stdout.write(`TAP version 14\n1..${total}\n`)
        planned = true
      }
      let n = 0
      const results = await runCaseFiles(config, specs, files, (r) => {
        plan()
        process.stdout.write(tapLine(r, ++n))
      })
      plan()
      const failed = results.filter((r) => !passed(r)).length
      process.stdout.write(`# ${results.length - failed} passed, ${failed} failed\n`)
      if (opts.junit !== undefined) await writeFile(opts.junit, junit(results))
      if (failed > 0) process.exitCode = 1
    })
}
