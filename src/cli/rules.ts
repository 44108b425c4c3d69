import { Command } from 'commander'
import { loadConfig, buildConfig } from '../config/load.js'
import type { GatehouseConfig } from '../config/types.js'
import { ConfigError } from '../errors.js'
import { createLogger } from '../observability/logger.js'
import { HandlerConfigs } from '../pipeline/handler-config.js'
import { createRegistries } from '../pipeline/registries.js'
import { compileRule, type CompileContext } from '../rules/compile.js'
import { SharedResources } from '../pipeline/shared.js'
import { Agent } from 'undici'
import { parseRuleDocument } from '../rules/parse.js'
import { openRepository } from '../rules/repository/index.js'
import { getJson } from './http-get.js'
import { collect } from './options.js'

export function rulesCommand(): Command {
  const rules = new Command('rules').description('validate rule files, list the rules of a running gateway')
  rules
    .command('validate')
    .description('check rule files and directories: format, handlers, handler config, patterns, duplicate ids; exits 1 listing every problem')
    .argument('<paths...>', 'rule files or directories (*.json, *.yaml, *.yml inside, recursively)')
    .option('-c, --config <file>', 'gateway config: which handlers are enabled, global handler config, matching strategy (default: every handler enabled)', collect, [])
    .action(async (paths: string[], opts: { config: string[] }) => {
      const problems = await validateRuleFiles(paths, configFor(opts.config))
      if (problems.length > 0) {
        process.stderr.write(`${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}\n`)
        process.exitCode = 1
      } else process.stdout.write('all rules are valid\n')
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
  return rules
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

/** The config to validate against: the given files, or every known handler enabled. */
function configFor(files: readonly string[]): GatehouseConfig {
  if (files.length > 0) return loadConfig(files, process.env)
  const registries = createRegistries()
  const all = (ids: string[]): Record<string, { enabled: boolean }> => Object.fromEntries(ids.map((id) => [id, { enabled: true }]))
  return buildConfig(
    {
      authenticators: all(registries.authenticators.ids()),
      authorizers: all(registries.authorizers.ids()),
      mutators: all(registries.mutators.ids()),
      errors: { handlers: all(registries.errors.ids()) },
    },
    {},
  )
}

/** Every problem of every file, each naming the file and the rule. Reads through the same repositories the gateway uses. */
export async function validateRuleFiles(paths: readonly string[], config: GatehouseConfig): Promise<string[]> {
  const handlers = new HandlerConfigs(config, createRegistries())
  // Handlers are only compiled here, never run; the client and shared resources are closed at the end.
  const http = new Agent()
  const shared = new SharedResources()
  const ctx = { handlers, strategy: config.access_rules.matching_strategy, deps: { logger: createLogger({ level: 'silent', format: 'json' }), http, shared } }
  try {
    return await collectProblems(paths, ctx)
  } finally {
    await shared.close()
    await http.close()
  }
}

async function collectProblems(paths: readonly string[], ctx: CompileContext): Promise<string[]> {
  const problems: string[] = []
  const seen = new Map<string, string>()
  for (const [i, path] of paths.entries()) {
    const repo = openRepository(path, i, { cwd: process.cwd(), pollIntervalMs: 0 })
    const reads = await repo.scan()
    await repo.close()
    for (const read of reads) {
      if ('error' in read) {
        problems.push(`${read.source}: ${read.error}`)
        continue
      }
      let specs
      try {
        specs = parseRuleDocument(read.text, read.source)
      } catch (err) {
        problems.push(...(err instanceof ConfigError ? err.problems : [`${read.source}: ${(err as Error).message}`]))
        continue
      }
      for (const spec of specs) {
        const other = seen.get(spec.id)
        if (other !== undefined) problems.push(`${read.source}: rule "${spec.id}": duplicate id, already defined in ${other}`)
        else seen.set(spec.id, read.source)
        try {
          compileRule(spec, read.source, ctx)
        } catch (err) {
          const list = err instanceof ConfigError ? err.problems : [(err as Error).message]
          problems.push(...list.map((p) => `${read.source}: ${p}`))
        }
      }
    }
  }
  return problems
}

function table(rules: readonly ListedRule[]): string {
  const rows = [['ID', 'METHODS', 'URL'], ...rules.map((r) => [r.id, (r.match.methods ?? []).join(','), r.match.url])]
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`).join('\n') + '\n'
}
