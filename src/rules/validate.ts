import { Agent } from 'undici'
import type { GatehouseConfig } from '../config/types.js'
import { ConfigError } from '../errors.js'
import { createLogger } from '../observability/logger.js'
import { HandlerConfigs } from '../pipeline/handler-config.js'
import { buildGatewayConfig, loadGatewayConfig } from '../pipeline/handler-settings.js'
import { createRegistries } from '../pipeline/registries.js'
import { SharedResources } from '../pipeline/shared.js'
import { compileRule, type CompileContext, type CompiledRule } from './compile.js'
import { parseRuleDocument } from './parse.js'
import { openRepository } from './repository/index.js'

/** The config to validate against: the given files, or every known handler enabled. */
export function validationConfig(files: readonly string[]): GatehouseConfig {
  if (files.length > 0) return loadGatewayConfig(files, process.env)
  const registries = createRegistries()
  const all = (ids: string[]): Record<string, { enabled: boolean }> => Object.fromEntries(ids.map((id) => [id, { enabled: true }]))
  return buildGatewayConfig(
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
  return [...(await loadRuleFiles(paths, config)).problems]
}

export interface LoadedRuleFiles {
  /** Every problem of every file, each naming the file and the rule. */
  readonly problems: readonly string[]
  /** The rules that compiled, in load order (a duplicate id keeps only the first). */
  readonly rules: readonly CompiledRule[]
}

/** Reads and compiles rule files as the gateway does, keeping both the problems and the compiled rules. */
export async function loadRuleFiles(paths: readonly string[], config: GatehouseConfig): Promise<LoadedRuleFiles> {
  const handlers = new HandlerConfigs(config, createRegistries())
  // Handlers are only compiled here, never run; the client and shared resources are closed at the end.
  const http = new Agent()
  const shared = new SharedResources()
  const ctx = { handlers, strategy: config.access_rules.matching_strategy, deps: { logger: createLogger({ level: 'silent', format: 'json' }), http, shared } }
  try {
    const rules: CompiledRule[] = []
    const problems = await collectProblems(paths, ctx, rules)
    return { problems, rules }
  } finally {
    await shared.close()
    await http.close()
  }
}

async function collectProblems(paths: readonly string[], ctx: CompileContext, compiled: CompiledRule[]): Promise<string[]> {
  const problems: string[] = []
  const seen = new Map<string, string>()
  for (const [i, path] of paths.entries()) {
    const repo = openRepository(path, i, { cwd: process.cwd(), pollIntervalMs: 0 })
    const reads = await repo.scan()
    await repo.close()
    for (const read of reads) {
      if ('error' in read) {
        // The repository's error usually names the source already.
        problems.push(read.error.startsWith(read.source) ? read.error : `${read.source}: ${read.error}`)
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
        const duplicate = other !== undefined
        if (duplicate) problems.push(`${read.source}: rule "${spec.id}": duplicate id, already defined in ${other}`)
        else seen.set(spec.id, read.source)
        try {
          const rule = compileRule(spec, read.source, ctx)
          if (!duplicate) compiled.push(rule)
        } catch (err) {
          const list = err instanceof ConfigError ? err.problems : [(err as Error).message]
          problems.push(...list.map((p) => `${read.source}: ${p}`))
        }
      }
    }
  }
  return problems
}
