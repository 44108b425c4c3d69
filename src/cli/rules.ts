import { existsSync } from 'node:fs'
import { Command } from 'commander'
import { getJson } from './http-get.js'
import { collect } from './options.js'
import { convertCommand } from './rules-convert.js'
import { testCommand } from './rules-test/command.js'
import { explainCommand } from './rules-explain.js'
import type { LintResult } from '../rules/lint.js'

export function rulesCommand(): Command {
  const rules = new Command('rules').description('validate, lint, test and explain rule files, print their JSON Schema, convert them to and from Kubernetes Rule manifests, list the rules of a running gateway')
  rules
    .command('validate')
    .description('check rule files and directories: format, handlers, handler config, patterns, duplicate ids; exits 1 listing every problem')
    .argument('<paths...>', 'rule files or directories (*.json, *.yaml, *.yml inside, recursively)')
    .option('-c, --config <file>', 'gateway config: which handlers are enabled, global handler config, matching strategy (default: every handler enabled)', collect, [])
    .action(async (paths: string[], opts: { config: string[] }) => {
      // Loaded here: compiling rules pulls in every handler, which the other verbs do not need.
      const { validateRuleFiles, validationConfig } = await import('../rules/validate.js')
      const problems = await validateRuleFiles(paths, validationConfig(opts.config))
      if (problems.length > 0) {
        process.stderr.write(`${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}\n`)
        if (opts.config.length === 0) process.stderr.write(withoutConfigHint('validate', paths))
        process.exitCode = 1
      } else process.stdout.write('all rules are valid\n')
    })
  rules
    .command('lint')
    .description(
      'validate rule files and check them together: pairs of rules that can match the same request (with a method and URL both match), ' +
        'rules that can never match, duplicate ids; exits 1 on an error',
    )
    .argument('[paths...]', "rule files or directories (default: the config's access_rules.repositories)")
    .option('-c, --config <file>', 'gateway config: handlers, matching strategy, precedence, repositories (default: every handler enabled, regexp, exclusive)', collect, [])
    .option('--format <format>', 'text or json', 'text')
    .option('--max-pairs <n>', 'stop the overlap analysis after this many pairs of rules (a warning says so)', '1000000')
    .action(async (paths: string[], opts: { config: string[]; format: string; maxPairs: string }) => {
      const maxPairs = Number(opts.maxPairs)
      if (!Number.isInteger(maxPairs) || maxPairs < 0) throw new Error(`--max-pairs must be a whole number, got "${opts.maxPairs}"`)
      if (opts.format !== 'text' && opts.format !== 'json') throw new Error(`--format must be text or json, got "${opts.format}"`)
      const { validationConfig } = await import('../rules/validate.js')
      const { lintRuleFiles } = await import('../rules/lint.js')
      const config = validationConfig(opts.config)
      if (paths.length === 0 && config.access_rules.repositories.length === 0) {
        throw new Error('no rule files: give paths, or a config (-c) whose access_rules.repositories lists them')
      }
      const result = await lintRuleFiles(paths, config, { maxPairs })
      if (opts.format === 'json') process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
      else process.stdout.write(lintText(result))
      const invalid = result.findings.some((f) => f.kind === 'invalid')
      if (invalid && opts.config.length === 0 && opts.format === 'text') process.stderr.write(withoutConfigHint('lint', paths))
      if (result.errors > 0) process.exitCode = 1
    })
  rules
    .command('list')
    .description('list the rules a running gateway serves (GET /rules)')
    .requiredOption('-e, --endpoint <url>', 'gateway API endpoint, e.g. http://127.0.0.1:4456')
    .option('--format <format>', 'json or table', 'table')
    .action(async (opts: { endpoint: string; format: string }) => {
      const rules = await listRules(opts.endpoint)
      if (opts.format === 'json') process.stdout.write(`${JSON.stringify(rules, null, 2)}\n`)
      else process.stdout.write(table(rules))
    })
  rules
    .command('schema')
    .description('print the JSON Schema of rule files (the one the loader validates with), for editors and CI')
    .action(async () => {
      const { ruleFileSchema } = await import('../rules/schema.js')
      process.stdout.write(`${JSON.stringify(ruleFileSchema, null, 2)}\n`)
    })
  rules.addCommand(explainCommand())
  rules.addCommand(convertCommand())
  rules.addCommand(testCommand())
  return rules
}

/** Where a repository keeps its example gateway config; suggested when it is there. */
const EXAMPLE_CONFIG = 'config/quickstart.yml'

/**
 * Without -c every handler counts as enabled with an empty global config, so a rule that leaves
 * settings (jwks_urls, introspection_url, …) to the gateway's config cannot be valid: say which
 * config would make it so rather than let the user guess.
 */
function withoutConfigHint(verb: 'validate' | 'lint', paths: readonly string[]): string {
  const example = existsSync(EXAMPLE_CONFIG) ? EXAMPLE_CONFIG : '<gateway config>'
  return (
    'hint: no gateway config was given (-c), so every handler counted as enabled with an empty global config;\n' +
    '  rules that rely on the config for handler settings are valid only with it. Validate them against the\n' +
    `  gateway's config: gatehouse rules ${verb} -c ${example} ${paths.join(' ')}\n`
  )
}

interface ListedRule {
  id: string
  match: { url: string; methods?: string[] }
}

/** The API's largest page (GET /rules caps `limit` there). */
const PAGE = 500

/** Every rule a running gateway serves, page by page (one page would stop at 500 rules). */
export async function listRules(endpoint: string): Promise<ListedRule[]> {
  const all: ListedRule[] = []
  for (;;) {
    const { status, body } = await getJson(endpoint, `/rules?limit=${PAGE}&offset=${all.length}`)
    if (status !== 200 || !Array.isArray(body)) throw new Error(`GET /rules answered ${status}: ${JSON.stringify(body)}`)
    all.push(...(body as ListedRule[]))
    if (body.length < PAGE) return all
  }
}

function table(rules: readonly ListedRule[]): string {
  const rows = [['ID', 'METHODS', 'URL'], ...rules.map((r) => [r.id, (r.match.methods ?? []).join(','), r.match.url])]
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`).join('\n') + '\n'
}

function lintText(result: LintResult): string {
  const lines = result.findings.map((f) => `${f.severity}: ${f.message}`)
  const counts = (['error', 'warning'] as const).map((s) => `${result.findings.filter((f) => f.severity === s).length} ${s}(s)`)
  lines.push(`${result.rules} rule(s), ${result.pairsAnalysed} pair(s) analysed: ${counts.join(', ')}`)
  return `${lines.join('\n')}\n`
}
