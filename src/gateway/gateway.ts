import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { Agent } from 'undici'
import { SharedResources } from '../pipeline/shared.js'
import { parseDuration } from '../config/duration.js'
import type { GatehouseConfig } from '../config/types.js'
import { ConfigError } from '../errors.js'
import { GatewayMetrics } from '../observability/metrics.js'
import { createMetricsHandler } from '../observability/metrics-server.js'
import { HandlerConfigs } from '../pipeline/handler-config.js'
import { publishedJwks } from '../pipeline/jwks/published.js'
import { createRegistries } from '../pipeline/registries.js'
import type { HandlerHooks, KeyPublisher } from '../pipeline/types.js'
import { compileRule, errorStep, resourcesIn, type CompileContext, type CompiledRule, type ErrorStep } from '../rules/compile.js'
import { InternTable } from '../rules/intern.js'
import { RuleLoader } from '../rules/loader.js'
import { createHttpServer, listen } from '../util/http-server.js'
import { createApiHandler } from './api-server.js'
import { compileCors } from './cors.js'
import { explain, type ExplainInput, type Explanation } from './explain.js'
import { createProxyHandler } from './proxy-server.js'
import { answerClientError } from './respond.js'
import { RuleAnalysis } from './rule-analysis.js'
import { RuleSet } from './rule-set.js'
import { Upstreams } from './upstreams.js'
import { createUpgradeHandler } from './upgrade.js'

export interface GatewayAddresses {
  readonly proxy: AddressInfo
  readonly api: AddressInfo
  /** The Prometheus endpoint (`serve.prometheus`); undefined when the cluster primary serves it. */
  readonly metrics: AddressInfo | undefined
}

export interface GatewayOptions {
  /**
   * Whether this gateway listens on `serve.prometheus` (default true). A cluster worker does
   * not: the primary serves the sum over the workers (observability/cluster-metrics.ts).
   */
  readonly serveMetrics?: boolean
}

export interface Gateway {
  /** Loads the rules (first complete set) and starts listening. */
  start(): Promise<GatewayAddresses>
  /**
   * Shutdown begins: `/health/ready` answers 503 and every response says `Connection: close`,
   * while the listeners still accept (close() stops them).
   */
  drain(): void
  close(): Promise<void>
  /** The rule set in force now. */
  rules(): RuleSet
  /** Explains how the rules in force treat a request (rules explain); remote calls really happen. */
  explain(input: ExplainInput): Promise<Explanation>
  readonly loader: RuleLoader<CompiledRule>
  /** Resolves when the overlap analysis of every rule set published so far is done. */
  analysed(): Promise<void>
  /** The gateway's Prometheus registry (what `serve.prometheus` renders). */
  readonly metricsRegistry: Registry
  /** The keys of the shared resources (caches, key sets…) the handlers in force hold; for tests and debugging. */
  sharedResources(): string[]
}

/**
 * Wires a gateway from a validated config: registries, compiled global error handlers, the
 * rule loader, the upstream pools and the two servers. Throws ConfigError for problems that
 * can be found before anything listens (e.g. an unknown fallback error handler).
 */
export function createGateway(config: GatehouseConfig, logger: Logger, opts: GatewayOptions = {}): Gateway {
  const handlers = new HandlerConfigs(config, createRegistries())
  // Before anything is created: a bad allowed_origins entry is a ConfigError.
  const proxyCors = compileCors(config.serve.proxy.cors, 'serve.proxy.cors', logger)
  const apiCors = compileCors(config.serve.api.cors, 'serve.api.cors', logger)
  // One client and one set of shared resources for every handler of every rule set: pools and
  // caches survive rule reloads, for as long as a rule uses them.
  const http = new Agent({ keepAliveTimeout: 30_000, connections: 128 })
  const shared = new SharedResources({ logger })
  // Its sources are read when scraped, never before start(): `current` and `loader` exist by then.
  const metrics = new GatewayMetrics({
    loadedRules: () => current.rules.length,
    failingSources: () => loader.status().filter((s) => s.error !== null).length,
  })
  const publishers = new Set<KeyPublisher>()
  const hooks: HandlerHooks = {
    introspectionCache: (cache) => metrics.introspectionCache(cache),
    publishKeys: (source) => {
      publishers.add(source)
      return () => publishers.delete(source)
    },
  }
  // `parts`: rules with the same handler configs, methods or upstream share them (see intern.ts).
  const ctx: CompileContext = { handlers, strategy: config.access_rules.matching_strategy, deps: { logger, http, shared, hooks }, metrics, parts: new InternTable() }
  const fallbackErrors = compileFallbackErrors(config, ctx)

  const analysis = new RuleAnalysis(logger, config.access_rules.precedence)
  let current = new RuleSet([], 0, config.access_rules.precedence)
  let ready = false
  const rules = (): RuleSet => current

  const loader = new RuleLoader<CompiledRule>({
    repositories: config.access_rules.repositories,
    pollIntervalMs: parseDuration(config.access_rules.repository_poll_interval),
    compile: (spec, source) => compileRule(spec, source, ctx),
    onUpdate: (set) => {
      current = new RuleSet(set.rules, set.version, config.access_rules.precedence)
      ready = true
      metrics.ruleSetPublished()
      logger.info({ rules: set.rules.length, version: set.version }, 'access rules loaded')
      // After the swap: the analysis never delays a reload.
      analysis.published(set.rules, set.version)
    },
    onLoadError: () => metrics.ruleSourceFailed(),
    // What no compiled rule holds any more (a removed rule's JWKS source, introspection cache,
    // signer…) is dropped: closed after a grace, so requests of the previous set can finish.
    onRebuilt: () => {
      const dropped = shared.sweep(resourcesIn(loader.held(), fallbackErrors))
      if (dropped.length > 0) logger.debug({ resources: dropped }, 'shared resources no rule uses any more dropped')
    },
    logger,
  })

  const proxyTimeouts = config.serve.proxy.timeout
  const writeMs = parseDuration(proxyTimeouts.write)
  const upstreamLimits = config.serve.proxy.upstream
  const upstreams = new Upstreams({
    connectTimeoutMs: Math.min(writeMs, 10_000),
    headersTimeoutMs: writeMs,
    bodyTimeoutMs: writeMs,
    connections: upstreamLimits.max_connections,
    maxQueued: upstreamLimits.max_queued,
  })
  const decisionDeps = { rules, fallbackErrors, logger, metrics, paths: { allowDoubleEncoded: config.serve.allow_double_encoded_paths } }
  const explainDeps = { ...decisionDeps, trustForwardedHeaders: config.serve.proxy.trust_forwarded_headers }

  const proxyServer = createHttpServer(
    { tls: config.serve.proxy.tls, where: 'serve.proxy.tls', logger },
    createProxyHandler({
      ...decisionDeps,
      upstreams,
      trustForwardedHeaders: config.serve.proxy.trust_forwarded_headers,
      matchForwardedHost: config.serve.proxy.match_forwarded_host,
      cors: proxyCors,
    }),
  )
  const proxy = proxyServer.server
  proxy.on('clientError', answerClientError)
  // WebSocket (and other Upgrade) handshakes: same rules and pipeline, then a tunnel.
  let closing = false
  const tunnels = new Set<Duplex>()
  proxy.on(
    'upgrade',
    createUpgradeHandler({
      ...decisionDeps,
      trustForwardedHeaders: config.serve.proxy.trust_forwarded_headers,
      matchForwardedHost: config.serve.proxy.match_forwarded_host,
      timeoutMs: writeMs,
      closing: () => closing,
      sockets: tunnels,
    }),
  )
  // Node's requestTimeout bounds receiving the whole request (Oathkeeper's read timeout);
  // streamed uploads longer than that are cut, as they are in Oathkeeper.
  proxy.requestTimeout = parseDuration(proxyTimeouts.read)
  proxy.headersTimeout = Math.min(proxy.requestTimeout || 60_000, 60_000)
  proxy.keepAliveTimeout = parseDuration(proxyTimeouts.idle)
  const apiServer = createHttpServer(
    { tls: config.serve.api.tls, where: 'serve.api.tls', logger },
    createApiHandler({
      ...decisionDeps,
      // As Oathkeeper's rules_loaded check: ready only with at least one valid rule in force, so
      // a gateway whose every rule file is broken (or whose rules directory is missing) is
      // kept out of the load balancer instead of answering 404 to everything.
      isReady: () => ready && current.rules.length > 0,
      isDraining: () => draining,
      ruleStatus: () => loader.status().map((s) => ({ ...s, findings: analysis.findingsFor(s.source) })),
      jwks: () => publishedJwks(publishers),
      cors: apiCors,
      explain: config.serve.api.explain.enabled ? (input) => explain(explainDeps, input) : undefined,
    }),
  )
  const api = apiServer.server
  api.on('clientError', answerClientError)
  const prometheus = config.serve.prometheus
  const metricsServer =
    opts.serveMetrics === false ? undefined : createHttpServer({ where: 'serve.prometheus', logger }, createMetricsHandler(metrics.registry, prometheus.metrics_path, logger))

  // close() is idempotent: a failed start() closes, and the caller may close again.
  let closed: Promise<void> | undefined
  let draining = false
  const servers = metricsServer === undefined ? [proxyServer, apiServer] : [proxyServer, apiServer, metricsServer]

  return {
    loader,
    rules,
    metricsRegistry: metrics.registry,
    explain: (input) => explain(explainDeps, input),
    analysed: () => analysis.settled(),
    sharedResources: () => shared.keys(),
    async start() {
      try {
        // The API first, so that /health/alive answers and /health/ready says 503 while the
        // rules load (an http repository may take a while); the proxy only once they have.
        const a = await listen(api, config.serve.api.port, config.serve.api.host)
        // Metrics before the rules, so a first load that fails is counted and can be scraped.
        const m = metricsServer === undefined ? undefined : await listen(metricsServer.server, prometheus.port, prometheus.host)
        await loader.start()
        const p = await listen(proxy, config.serve.proxy.port, config.serve.proxy.host)
        logger.info(
          { proxy: `${p.address}:${p.port}`, api: `${a.address}:${a.port}`, metrics: m === undefined ? undefined : `${m.address}:${m.port}${prometheus.metrics_path}` },
          'gateway listening',
        )
        return { proxy: p, api: a, metrics: m }
      } catch (err) {
        // E.g. a port in use: release what did start (the API, the file watchers), or the
        // process would live on half-started, answering health checks with no proxy.
        await close()
        throw err
      }
    },
    drain() {
      draining = true
      for (const s of servers) s.drain()
    },
    close,
  }

  function close(): Promise<void> {
    closed ??= doClose()
    return closed
  }

  async function doClose(): Promise<void> {
    closing = true
    draining = true
    await loader.close()
    // An analysis in progress stops at its next slice instead of keeping the process busy.
    analysis.close()
    // Stop accepting, let requests in flight finish within the grace, then cut what is left.
    const graceMs = parseDuration(config.serve.shutdown_grace)
    // Upgraded sockets are outside the HTTP server's bookkeeping, so the cut is ours to make.
    const cut = setTimeout(() => {
      for (const socket of tunnels) socket.destroy()
    }, graceMs)
    await Promise.all(servers.map((s) => s.closeGracefully(graceMs)))
    clearTimeout(cut)
    for (const s of servers) s.close()
    await upstreams.close()
    await shared.close()
    await http.close()
  }
}

/**
 * Compiles `errors.fallback`. Every enabled handler's global config is compiled too, although
 * only rules that name it use it: a mistake in it is found at start, not on the first error.
 */
export function compileFallbackErrors(config: GatehouseConfig, ctx: CompileContext): ErrorStep[] {
  const problems: string[] = []
  const compile = (id: string, where: string): ErrorStep | undefined => {
    try {
      return errorStep(ctx, { handler: id }, where)
    } catch (err) {
      problems.push(...(err instanceof ConfigError ? err.problems : [(err as Error).message]))
      return undefined
    }
  }
  for (const [id, s] of Object.entries(config.errors.handlers)) if (s.enabled) compile(id, `errors.handlers.${id}`)
  const fallbackErrors = config.errors.fallback
    .map((id, i) => compile(id, `errors.fallback[${i}]`))
    .filter((s): s is ErrorStep => s !== undefined)
  if (problems.length > 0) throw new ConfigError('invalid error handler configuration', problems)
  return fallbackErrors
}
