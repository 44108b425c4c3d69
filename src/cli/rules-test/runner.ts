/**
 * `gatehouse rules test`: loads the rules as `rules validate` does, finds the `*.test.yml`
 * files beside them, and runs every case through the real decision path with the fake services.
 * Each case file gets freshly compiled rules and its own fake (so does a case with fixtures of
 * its own), so caches (introspection answers, JWKS) never carry answers from other fixtures.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { GatehouseConfig } from '../../config/types.js'
import { ConfigError } from '../../errors.js'
import { compileFallbackErrors } from '../../gateway/gateway.js'
import { RuleSet } from '../../gateway/rule-set.js'
import { createLogger } from '../../observability/logger.js'
import { GatewayMetrics } from '../../observability/metrics.js'
import { HandlerConfigs } from '../../pipeline/handler-config.js'
import { createRegistries } from '../../pipeline/registries.js'
import { SharedResources } from '../../pipeline/shared.js'
import { compileRule, type CompileContext } from '../../rules/compile.js'
import { parseRuleDocument } from '../../rules/parse.js'
import { openRepository } from '../../rules/repository/index.js'
import { RULE_TEST_FILE } from '../../rules/repository/file.js'
import type { RuleSpec } from '../../rules/types.js'
import { readCaseFile, type CaseFile, type Fixtures, type TestCase } from './cases.js'
import { compare } from './compare.js'
import { fakeServices, generateKeys, signJwt, type SigningKey } from './fake.js'
import type { CaseResult } from './report.js'
import { runRequest, type DecideContext } from './run-case.js'

interface LoadedSpec {
  readonly spec: RuleSpec
  readonly source: string
}

/** Rule specs from `paths` through the gateway's repositories; problems throw a ConfigError. */
export async function loadSpecs(paths: readonly string[]): Promise<LoadedSpec[]> {
  const out: LoadedSpec[] = []
  const problems: string[] = []
  for (const [i, path] of paths.entries()) {
    const repo = openRepository(path, i, { cwd: process.cwd(), pollIntervalMs: 0 })
    const reads = await repo.scan()
    await repo.close()
    for (const read of reads) {
      if ('error' in read) {
        problems.push(read.error.startsWith(read.source) ? read.error : `${read.source}: ${read.error}`)
        continue
      }
      try {
        for (const spec of parseRuleDocument(read.text, read.source)) out.push({ spec, source: read.source })
      } catch (err) {
        problems.push(...(err instanceof ConfigError ? err.problems : [`${read.source}: ${(err as Error).message}`]))
      }
    }
  }
  if (problems.length > 0) throw new ConfigError('the rules could not be loaded', problems)
  return out
}

/** The case files among `paths`: named ones, and `*.test.yml` / `*.test.yaml` under directories (sorted, dot-entries skipped). */
export async function findCaseFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const e of entries) {
      if (e.name.startsWith('.')) continue
      const full = join(dir, e.name)
      if (e.isDirectory()) await walk(full)
      else if (RULE_TEST_FILE.test(e.name)) out.push(full)
    }
  }
  for (const p of paths) {
    const s = await stat(p).catch(() => undefined)
    if (s?.isDirectory() === true) await walk(p)
    else if (s !== undefined && RULE_TEST_FILE.test(p)) out.push(p)
  }
  return out
}

/** Runs every case of every file; `onResult` sees each result as it comes (for streaming TAP). */
export async function runCaseFiles(
  config: GatehouseConfig,
  specs: readonly LoadedSpec[],
  files: readonly CaseFile[],
  onResult: (r: CaseResult) => void,
): Promise<CaseResult[]> {
  const logger = createLogger({ level: 'silent', format: 'json' })
  const handlers = new HandlerConfigs(config, createRegistries())
  const metrics = new GatewayMetrics({ loadedRules: () => specs.length, failingSources: () => 0 })
  await checkRules(config, handlers, logger, specs)
  const d: RunDeps = { config, handlers, logger, metrics, specs }
  const results: CaseResult[] = []
  for (const file of files) {
    const keys = await generateKeys([...(file.fixtures.jwks ?? []), ...file.cases.flatMap((c) => c.fixtures?.jwks ?? [])])
    // The file's cases share one compiled set: their fixtures are the same, so a cached answer is
    // the answer the fake would give again. A case with fixtures of its own gets its own set.
    let shared: Env | undefined
    try {
      for (const c of file.cases) {
        const started = performance.now()
        let r: Omit<CaseResult, 'ms'>
        let own: Env | undefined
        try {
          if (c.fixtures !== undefined) own = prepare([c.fixtures, file.fixtures], keys, d)
          else shared ??= prepare([file.fixtures], keys, d)
          r = await runCase(c, file, keys, own ?? shared!)
        } catch (err) {
          r = { file: file.source, name: c.name, diffs: [], problem: err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message }
        } finally {
          await own?.close()
        }
        const result = { ...r, ms: performance.now() - started }
        results.push(result)
        onResult(result)
      }
    } finally {
      await shared?.close()
    }
  }
  return results
}

/** Compiles every rule once, so a broken rule is one error up front rather than a failure in every case. */
async function checkRules(config: GatehouseConfig, handlers: HandlerConfigs, logger: RunDeps['logger'], specs: readonly LoadedSpec[]): Promise<void> {
  const http = fakeServices([], new Map())
  const shared = new SharedResources()
  const problems: string[] = []
  try {
    const ctx: CompileContext = { handlers, strategy: config.access_rules.matching_strategy, deps: { logger, http, shared } }
    for (const s of specs) {
      try {
        compileRule(s.spec, s.source, ctx)
      } catch (err) {
        problems.push(...(err instanceof ConfigError ? err.problems : [(err as Error).message]).map((p) => `${s.source}: ${p}`))
      }
    }
  } finally {
    await shared.close()
    await http.close()
  }
  if (problems.length > 0) throw new ConfigError('the rules are not valid (see gatehouse rules validate)', problems)
}

interface RunDeps {
  readonly config: GatehouseConfig
  readonly handlers: HandlerConfigs
  readonly logger: ReturnType<typeof createLogger>
  readonly metrics: GatewayMetrics
  readonly specs: readonly LoadedSpec[]
}

/** Rules compiled against one fake, ready to decide; close() releases the fake and the handlers' resources. */
interface Env {
  readonly decide: DecideContext
  close(): Promise<void>
}

function prepare(fixtures: readonly Fixtures[], keys: ReadonlyMap<string, SigningKey>, d: RunDeps): Env {
  const http = fakeServices(fixtures, keys)
  const shared = new SharedResources()
  const close = async (): Promise<void> => {
    await shared.close()
    await http.close()
  }
  try {
    const ctx: CompileContext = { handlers: d.handlers, strategy: d.config.access_rules.matching_strategy, deps: { logger: d.logger, http, shared } }
    const rules = new RuleSet(
      d.specs.map((s) => compileRule(s.spec, s.source, ctx)),
      0,
    )
    const decide: DecideContext = {
      rules,
      fallbackErrors: compileFallbackErrors(d.config, ctx),
      logger: d.logger,
      metrics: d.metrics,
      allowDoubleEncoded: d.config.serve.allow_double_encoded_paths,
      trustForwardedHeaders: d.config.serve.proxy.trust_forwarded_headers,
    }
    return { decide, close }
  } catch (err) {
    void close()
    throw err
  }
}

async function runCase(c: TestCase, file: CaseFile, keys: ReadonlyMap<string, SigningKey>, env: Env): Promise<Omit<CaseResult, 'ms'>> {
  const bearer = c.request.jwt === undefined ? undefined : await signWith(keys, c.request.jwt)
  const outcome = await runRequest(env.decide, c.request, bearer)
  return { file: file.source, name: c.name, diffs: compare(c.expect, outcome), reason: outcome.reason }
}

async function signWith(keys: ReadonlyMap<string, SigningKey>, jwt: NonNullable<TestCase['request']['jwt']>): Promise<string> {
  const key = jwt.kid === undefined ? keys.values().next().value : keys.get(jwt.kid)
  if (key === undefined) throw new Error(jwt.kid === undefined ? 'request.jwt: no jwks fixture has a key to sign with' : `request.jwt: no jwks fixture has the key "${jwt.kid}"`)
  return signJwt(key, jwt.claims ?? {})
}
