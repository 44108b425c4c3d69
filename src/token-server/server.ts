import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { parseDuration } from '../config/duration.js'
import { SCOPE_STRATEGIES } from '../scope.js'
import { clientRoutes } from './admin/clients.js'
import { introspectEndpoint } from './admin/introspect.js'
import { keyRoutes } from './admin/keys.js'
import { deleteTokensEndpoint } from './admin/tokens.js'
import { listenerTls, type TokenServerConfig } from './config.js'
import type { TokenServerContext } from './context.js'
import { createHttpServer, type HttpServer } from '../util/http-server.js'
import { isLoopback, requireApiKey } from './admin-auth.js'
import { GRANTS } from './grants/index.js'
import { createHasher } from './hash.js'
import { healthRoutes } from './health.js'
import { createRouter, type Route } from './http/router.js'
import { startJanitor } from './janitor.js'
import { ACCESS_TOKEN_SET, ID_TOKEN_SET, KeyManager } from './keys.js'
import { instrumentStore, TokenServerMetrics } from './metrics.js'
import { FailureLimiter } from './rate-limit.js'
import { RevocationFeed } from './revocations.js'
import { revocationEvents } from './admin/revocation-events.js'
import { discoveryEndpoint, jwksEndpoint } from './public/discovery.js'
import { revokeEndpoint } from './public/revoke.js'
import { tokenEndpoint } from './public/token.js'
import { userinfoEndpoint } from './public/userinfo.js'
import { createAuthorizationIssuer, type IssuerContext } from './oidc/issue/issuer.js'
import { issueSettings } from './oidc/issue/settings.js'
import { SecretCache } from './secret-cache.js'
import type { Store } from './store/types.js'
import { AccessTokens } from './tokens/access-tokens.js'
import { OpaqueTokens } from './tokens/opaque.js'
import type { AuthorizationIssuer } from './oidc/authorization.js'
import { flowRoutes } from './oidc/flow/index.js'

/** Every admin route lives under it; requests without it are served as if they had it (Hydra 2.x). */
const ADMIN_PREFIX = '/admin'

export type Listen = 'all' | 'public' | 'admin'

export interface TokenServerAddresses {
  readonly public?: AddressInfo
  readonly admin?: AddressInfo
}

export interface TokenServer {
  /** Checks the store's schema, then listens on the public and/or admin port. */
  start(which?: Listen): Promise<TokenServerAddresses>
  /**
   * Shutdown begins: `/health/ready` answers 503 and every response says `Connection: close`,
   * while the listeners still accept (close() stops them).
   */
  drain(): void
  /** Stops listening, lets in-flight requests finish (up to `graceMs`), closes the store. */
  close(graceMs?: number): Promise<void>
  readonly context: TokenServerContext
}

/** Thrown by start() when the database needs `gatehouse token-server migrate sql`. */
export class NotMigratedError extends Error {
  constructor(applied: number, latest: number) {
    super(
      `the database schema is not up to date (${applied} of ${latest} migrations applied); ` +
        'run `gatehouse token-server migrate sql -e --yes` (with DSN set) or `gatehouse token-server migrate sql <DSN> --yes` first',
    )
    this.name = 'NotMigratedError'
  }
}

/** What the caller plugs in beside config and store. */
export interface TokenServerOptions {
  /** Issues codes and tokens at the end of the authorization flow (/oauth2/auth); default: the server's own (oidc/issue). */
  readonly authorizationIssuer?: AuthorizationIssuer
}

/** Wires the token server from a validated config and an opened store. */
export function createTokenServer(config: TokenServerConfig, rawStore: Store, logger: Logger, options: TokenServerOptions = {}): TokenServer {
  const metrics = new TokenServerMetrics()
  const store = instrumentStore(rawStore, metrics)
  const hasher = createHasher(config.oauth2.hashers)
  const keys = new KeyManager(store)
  const issuer = config.urls.self.issuer
  const base: IssuerContext = {
    store,
    hasher,
    secrets: new SecretCache(hasher),
    keys,
    tokens: new AccessTokens({
      store,
      keys,
      issuer,
      opaque: new OpaqueTokens(config.secrets.system, config.oauth2.access_token_prefix),
      refresh: new OpaqueTokens(config.secrets.system, 'ory_rt_', 'refresh token'),
      jwtAlgorithm: config.oauth2.jwt_algorithm,
    }),
    scopeStrategy: SCOPE_STRATEGIES[config.strategies.scope],
    logger,
    issuer,
    adminUrl: config.urls.self.admin,
    ttlSeconds: Math.max(1, Math.round(parseDuration(config.ttl.access_token) / 1000)),
    defaultStrategy: config.strategies.access_token,
    metrics,
    limiter: new FailureLimiter({
      perClient: config.oauth2.client_auth_limits.per_client,
      perAddress: config.oauth2.client_auth_limits.per_address,
      windowMs: parseDuration(config.oauth2.client_auth_limits.window),
    }),
    feed: new RevocationFeed(rawStore.events, logger),
    codes: new OpaqueTokens(config.secrets.system, 'ory_ac_', 'authorization code'),
    issue: issueSettings(config),
  }
  const context: TokenServerContext = { ...base, authorizationIssuer: createAuthorizationIssuer(base) }
  const events = revocationEvents(context)
  // Tests may plug in another issuer; the server issues with its own.
  const flow = flowRoutes(context, config, options.authorizationIssuer ?? context.authorizationIssuer)
  let draining = false
  const isDraining = (): boolean => draining

  const publicRoutes: Route[] = [
    { method: 'POST', path: '/oauth2/token', handler: tokenEndpoint(context, GRANTS) },
    { method: 'POST', path: '/oauth2/revoke', handler: revokeEndpoint(context) },
    { method: 'GET', path: '/userinfo', handler: userinfoEndpoint(context) },
    { method: 'POST', path: '/userinfo', handler: userinfoEndpoint(context) },
    { method: 'GET', path: '/.well-known/openid-configuration', handler: discoveryEndpoint(context, GRANTS) },
    // RFC 8414's name for the same document, which Hydra serves there too.
    { method: 'GET', path: '/.well-known/oauth-authorization-server', handler: discoveryEndpoint(context, GRANTS) },
    { method: 'GET', path: '/.well-known/jwks.json', handler: jwksEndpoint(context) },
    ...flow.publicRoutes,
    ...healthRoutes(context, isDraining),
  ]
  const adminRoutes: Route[] = [
    ...clientRoutes(context),
    { method: 'POST', path: '/admin/oauth2/introspect', handler: introspectEndpoint(context) },
    { method: 'DELETE', path: '/admin/oauth2/tokens', handler: deleteTokensEndpoint(context) },
    { method: 'GET', path: '/admin/revocations/events', handler: events.handler },
    ...keyRoutes(context),
    ...flow.adminRoutes,
    ...healthRoutes(context, isDraining, ADMIN_PREFIX),
    {
      method: 'GET',
      path: '/admin/metrics/prometheus',
      handler: async ({ res }) => {
        const text = await metrics.registry.metrics()
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'content-length': Buffer.byteLength(text) })
        res.end(text)
      },
    },
  ]

  const servers: HttpServer[] = []
  let stopJanitor: (() => void) | undefined
  let closing: Promise<void> | undefined

  async function listen(name: 'public' | 'admin', routes: Route[]): Promise<AddressInfo> {
    const { host, port } = config.serve[name]
    const observe = (route: string, status: number): void => metrics.requests.inc({ api: name, route, status })
    let handler = createRouter(routes, logger, observe, name === 'admin' ? ADMIN_PREFIX : undefined)
    if (name === 'admin') {
      const keys = config.serve.admin.auth.api_keys
      handler = requireApiKey(keys, handler)
      if (keys.length === 0 && !isLoopback(host)) {
        logger.warn(
          { host: host === '' ? '(all interfaces)' : host },
          'the admin API listens beyond this machine without authentication: set serve.admin.auth.api_keys or bind serve.admin.host to 127.0.0.1',
        )
      }
    }
    const inFlight = metrics.inFlight.labels({ api: name })
    const route = handler
    const counted = (req: IncomingMessage, res: ServerResponse): void => {
      inFlight.inc()
      res.once('close', () => inFlight.dec())
      route(req, res)
    }
    const tls = listenerTls(config, name)
    const served = createHttpServer({ tls: tls?.config, where: tls?.where ?? `serve.${name}.tls`, logger, options: { keepAliveTimeout: 65_000 } }, counted)
    servers.push(served)
    const server: Server = served.server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host === '' ? undefined : host, () => resolve())
    })
    const address = server.address() as AddressInfo
    logger.info({ address: address.address, port: address.port }, `token server ${name} API listening`)
    return address
  }

  return {
    context,
    async start(which = 'all') {
      const { applied, latest } = await store.migrationStatus()
      if (applied < latest) throw new NotMigratedError(applied, latest)
      // The JWT signing key exists before the first JWT is issued (as Hydra creates its keys at
      // start-up), so verifiers that fetched the JWKS early already know it.
      await keys.signingKey(ACCESS_TOKEN_SET, config.oauth2.jwt_algorithm)
      // Hydra also creates its OpenID Connect set (RS256) at start and publishes it: tools written
      // for Hydra read `GET /admin/keys/hydra.openid.id-token` and expect both sets in the JWKS.
      await keys.signingKey(ID_TOKEN_SET, 'RS256')
      const out: { public?: AddressInfo; admin?: AddressInfo } = {}
      if (which !== 'admin') out.public = await listen('public', publicRoutes)
      if (which !== 'public') out.admin = await listen('admin', adminRoutes)
      stopJanitor = startJanitor(store, logger, parseDuration(config.janitor.interval), config.janitor.batch_size)
      return out
    },
    drain() {
      draining = true
      for (const s of servers) s.drain()
    },
    close(graceMs = 10_000) {
      // Idempotent: a second call waits for the first (the store is closed once).
      closing ??= closeOnce(graceMs)
      return closing
    },
  }

  async function closeOnce(graceMs: number): Promise<void> {
    draining = true
    stopJanitor?.()
    // Event streams never finish on their own; subscribers reconnect elsewhere.
    events.closeAll()
    context.feed.close()
    await Promise.all(servers.map((s) => s.closeGracefully(graceMs)))
    for (const s of servers) s.close()
    // Back-channel logout tokens already signed still go out (within the grace period).
    await flow.settle(graceMs)
    await store.close()
  }
}
