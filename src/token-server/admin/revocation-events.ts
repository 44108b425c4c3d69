import type { ServerResponse } from 'node:http'
import type { TokenServerContext } from '../context.js'
import type { RouteContext } from '../http/router.js'
import { unavailable } from '../oauth-error.js'

/** A comment line this often keeps proxies from timing the stream out and lets gateways notice a dead one. */
const HEARTBEAT_MS = 15_000

/**
 * `GET /admin/revocations/events`: the revocation feed as server-sent events (beyond Hydra).
 * Gateways subscribe and evict revoked tokens from their introspection caches at once. The first
 * event, `ready`, carries the current cursor as its id; each `revoked` event carries a
 * Revocation as data; `reset` means events were missed and everything cached must go. A client
 * resumes with `Last-Event-ID` (or `?last_event_id=`), as EventSource does.
 */
export function revocationEvents(ctx: TokenServerContext): { handler: (r: RouteContext) => Promise<void>; closeAll(): void } {
  const open = new Set<ServerResponse>()
  let closing = false
  return {
    async handler({ req, res, query }) {
      // A subscriber reconnecting over a kept-alive connection while the server shuts down
      // would otherwise open a stream that holds the shutdown for its whole grace period.
      if (closing) throw unavailable()
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // nginx would otherwise buffer the stream and deliver events late.
        'x-accel-buffering': 'no',
      })
      open.add(res)
      res.write(`retry: 1000\nid: ${ctx.feed.cursor}\nevent: ready\ndata: {}\n\n`)
      const lastId = String(req.headers['last-event-id'] ?? query.get('last_event_id') ?? '')
      const unsubscribe = ctx.feed.subscribe(
        {
          event: (e) => res.write(`id: ${e.id}\nevent: revoked\ndata: ${JSON.stringify(e.revocation)}\n\n`),
          reset: () => res.write(`event: reset\ndata: {}\n\n`),
        },
        lastId,
      )
      const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS)
      heartbeat.unref()
      res.once('close', () => {
        clearInterval(heartbeat)
        unsubscribe()
        open.delete(res)
      })
    },
    closeAll() {
      closing = true
      for (const res of open) res.end()
    },
  }
}
