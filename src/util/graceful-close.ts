import type { Server } from 'node:http'
import { Server as NetServer } from 'node:net'

/**
 * Closes an HTTP server without dropping requests: stops accepting connections, answers what
 * is in flight (with `Connection: close`, so clients stop reusing the connection), closes
 * connections once they are idle, and cuts whatever is left after `graceMs`.
 *
 * Not `server.close()` itself: since Node 19 it closes idle connections at once, and a
 * connection whose request is still on its way (sent, not yet parsed) counts as idle, so its
 * request would be reset.
 */
export function closeGracefully(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve()
  return new Promise((resolve) => {
    // Before the application's listener: it may answer synchronously. Not setHeader: a
    // response later written with writeHead(status, flatArray) would keep only one of its
    // repeated headers (two Set-Cookie, say) once any header was set this way.
    server.prependListener('request', (_req, res) => {
      res.shouldKeepAlive = false
    })
    // The first sweep comes a moment after accepting stopped: a request already sent on a fresh
    // connection has arrived and is being served by then, so only truly idle ones are closed.
    const idle = setInterval(() => server.closeIdleConnections(), 250)
    const cut = setTimeout(() => server.closeAllConnections(), graceMs)
    NetServer.prototype.close.call(server, () => {
      clearInterval(idle)
      clearTimeout(cut)
      resolve()
    })
  })
}
