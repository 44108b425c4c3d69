import { VERSION } from '../version.js'
import type { TokenServerContext } from './context.js'
import { sendJson } from './http/io.js'
import type { Route } from './http/router.js'

/**
 * `/health/alive`, `/health/ready` (the store answers and no shutdown has begun) and `/version`,
 * on both ports as Hydra; on the admin port under `prefix` (`/admin/health/alive`; the router
 * also serves them unprefixed).
 */
export function healthRoutes(ctx: TokenServerContext, isDraining: () => boolean, prefix = ''): Route[] {
  return [
    { method: 'GET', path: `${prefix}/health/alive`, handler: async ({ res }) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET',
      path: `${prefix}/health/ready`,
      handler: async ({ res }) => {
        // Shutdown has begun: load balancers must stop sending traffic here, while it still flows.
        if (isDraining()) return sendJson(res, 503, { errors: { shutdown: 'the token server is shutting down' } })
        try {
          await ctx.store.ping()
          sendJson(res, 200, { status: 'ok' })
        } catch (err) {
          ctx.logger.warn({ err: (err as Error).message }, 'readiness check failed')
          sendJson(res, 503, { errors: { database: 'the store is not reachable' } })
        }
      },
    },
    { method: 'GET', path: `${prefix}/version`, handler: async ({ res }) => sendJson(res, 200, { version: VERSION }) },
  ]
}
