import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { Agent } from 'undici'
import { SharedResources } from '../pipeline/shared.js'
import { parseDuration } from '../config/duration.js'
import type { GatehouseConfig } from '../config/types.js'
import { ConfigError } from '../errors.js'
import { HandlerConfigs } from '../pipeline/handler-config.js'
import { publishedJwks } from '../pipeline/mutate/id-token/signer.js'
import { createRegistries } from '../pipeline/registries.js'
import { compileRule, errorStep, type CompileContext, type CompiledRule, type ErrorStep } from '../rules/compile.js'
import { RuleLoader } from '../rules/loader.js'
import { createApiHandler } from './api-server.js'
import { createProxyHandler } from './proxy-server.js'
import { RuleSet } from './rule-set.js'
import { Upstreams } from './upstreams.js'

export interface GatewayAddresses {
  readonly proxy: AddressInfo
  readonly api: AddressInfo
}

export interface Gateway {
  /** Loads the rules (first complete set) and starts listening. */
  start(): Promise<GatewayAddresses>
  close(): Promise<void>
  /** The rule set in force now. */
  rules(): RuleSet
  readonly loader: RuleLoader<CompiledRule>
}

/**
 * Wires a gateway from a validated config: registries, compiled global error handlers, the
 * rule loader, the upstream pools and the two servers. Throws ConfigError for problems that
 * can be found before anything listens (e.g. an unknown fallback error handler).
 */
export function createGateway(config: GatehouseConfig, logger: Logger): Gateway {
  const handlers = new HandlerConfigs(config, createRegistries())
  // One client and one set of shared resources for every handler of every rule set: pools and
  // caches survive rule reloads.
  const http = new Agent({ keepAliveTimeout: 30_000, connections: 128 })
  const shared = new SharedResources()
  const ctx: CompileContext = { handlers, strategy: config.access_rules.matching_strategy, deps: { logger, http, shared } }
  const { globalErrors, fallbackErrors } = compileGlobalErrors(config, ctx)

  let current = new RuleSet([], 0)
  let ready = false
  const rules = (): RuleSet => current

  const loader = new RuleLoader<CompiledRule>({
    repositories: config.access_rules.repositories,
    pollIntervalMs: parseDuration(config.access_rules.repository_poll_interval),
    compile: (spec, source) => compileRule(spec, source, ctx),
    onUpdate: (set) => {
      current = new RuleSet(set.rules, set.version)
      ready = true
      logger.info({ rules: set.rules.length, version: set.version }, 'access rules loaded')
    },
    logger,
  })

  const proxyTimeouts = config.serve.proxy.timeout
  const writeMs = parseDuration(proxyTimeouts.write)
  const upstreams = new Upstreams({ connectTimeoutMs: Math.min(writeMs, 10_000), headersTimeoutMs: writeMs, bodyTimeoutMs: writeMs })
  const decisionDeps = { rules, globalErrors, fallbackErrors, logger }

  const proxy = createServer(
    createProxyHandler({ ...decisionDeps, upstreams, trustForwardedHeaders: config.serve.proxy.trust_forwarded_headers }),
  )
  // Node's requestTimeout bounds receiving the whole request (Oathkeeper's read timeout);
  // streamed uploads longer than that are cut, as they are in Oathkeeper.
  proxy.requestTimeout = parseDuration(proxyTimeouts.read)
  proxy.headersTimeout = Math.min(proxy.requestTimeout || 60_000, 60_000)
  proxy.keepAliveTimeout = parseDuration(proxyTimeouts.idle)
  const api = createServer(
    createApiHandler({ ...decisionDeps, isReady: () => ready, ruleStatus: () => loader.status(), jwks: () => publishedJwks(shared) }),
  )

  // close() is idempotent: a failed start() closes, and the caller may close again.
  let closed: Promise<void> | undefined

  return {
    loader,
    rules,
    async start() {
      try {
        // The API first, so that /health/alive answers and /health/ready says 503 while the
        // rules load (an http repository may take a while); the proxy only once they have.
        const a = await listen(api, config.serve.api.port, config.serve.api.host)
        await loader.start()
        const p = await listen(proxy, config.serve.proxy.port, config.serve.proxy.host)
        logger.info({ proxy: `${p.address}:${p.port}`, api: `${a.address}:${a.port}` }, 'gateway listening')
        return { proxy: p, api: a }
      } catch (err) {
        // E.g. a port in use: release what did start (the API, the file watchers), or the
        // process would live on half-started, answering health checks with no proxy.
        await close()
        throw err
      }
    },
    close,
  }

  function close(): Promise<void> {
    closed ??= doClose()
    return closed
  }

  async function doClose(): Promise<void> {
    await loader.close()
    await Promise.all([closeServer(proxy), closeServer(api)])
    await upstreams.close()
    await shared.close()
    await http.close()
  }
}

function compileGlobalErrors(config: GatehouseConfig, ctx: CompileContext): { globalErrors: ErrorStep[]; fallbackErrors: ErrorStep[] } {
  const problems: string[] = []
  const compile = (id: string, where: string): ErrorStep | undefined => {
    try {
      return errorStep(ctx, { handler: id }, where)
    } catch (err) {
      problems.push(...(err instanceof ConfigError ? err.problems : [(err as Error).message]))
      return undefined
    }
  }
  const globalErrors = Object.entries(config.errors.handlers)
    .filter(([, s]) => s.enabled)
    .map(([id]) => compile(id, `errors.handlers.${id}`))
    .filter((s): s is ErrorStep => s !== undefined)
  const fallbackErrors = config.errors.fallback
    .map((id, i) => compile(id, `errors.fallback[${i}]`))
    .filter((s): s is ErrorStep => s !== undefined)
  if (problems.length > 0) throw new ConfigError('invalid error handler configuration', problems)
  return { globalErrors, fallbackErrors }
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host === '' ? undefined : host, () => {
      server.off('error', reject)
      resolve(server.address() as AddressInfo)
    })
  })
}

function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve()
  return new Promise((resolve) => {
    server.close(() => resolve())
    // Keep-alive connections would hold close() open until they idle out.
    server.closeIdleConnections()
  })
}
