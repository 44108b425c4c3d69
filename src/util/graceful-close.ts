import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { Server as NetServer, type Socket } from 'node:net'

/**
 * A connection that never sent a byte is closed once it has been open this long: its request
 * may already sit, unread, in the socket buffer (a client that connected just before the
 * listener closed), and Node would call such a connection idle.
 */
const UNUSED_AFTER_MS = 1000
/** How often idle connections are looked for while closing. */
const SWEEP_EVERY_MS = 250

/** One server's part in a drain; see createHttpServer, which attaches it to every server. */
export interface Graceful {
  /** From now on every response says `Connection: close`, so clients stop reusing connections. */
  drain(): void
  /**
   * Stops accepting, closes idle connections (at once and as they become idle), lets requests in
   * flight finish, and cuts whatever is left after `graceMs`.
   */
  close(graceMs: number): Promise<void>
}

interface Connection {
  readonly since: number
  /** The latest response on it; undefined while it has sent no request. */
  last: ServerResponse | undefined
}

/**
 * Tracks `server`'s connections (from the start: a drain must know which ones have a request in
 * flight) and closes it without dropping requests.
 *
 * Not `server.close()` itself: since Node 19 it closes idle connections at once, and Node counts
 * a connection whose request is still on its way (sent, not yet read) as idle, so that request
 * would be reset. Here a connection is idle when its last response has been sent, or when it
 * has sent nothing at all for UNUSED_AFTER_MS.
 */
export function graceful(server: Server, secure: boolean): Graceful {
  const connections = new Map<Socket, Connection>()
  let draining = false
  // With TLS, requests arrive on the TLS socket, which exists once the handshake is done.
  server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => {
    connections.set(socket, { since: Date.now(), last: undefined })
    socket.once('close', () => connections.delete(socket))
  })
  // Before the application's listener: it may answer synchronously. Not setHeader: a response
  // later written with writeHead(status, flatArray) would keep only one of its repeated headers
  // (two Set-Cookie, say) once any header was set this way. One map lookup per request.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const c = connections.get(req.socket)
    if (c !== undefined) c.last = res
    if (draining) res.shouldKeepAlive = false
  })

  const closeIdle = (): void => {
    const now = Date.now()
    for (const [socket, c] of connections) {
      // bytesRead > 0 with no request: an upgraded (WebSocket) connection, or headers still
      // arriving; neither is idle.
      const idle = c.last === undefined ? socket.bytesRead === 0 && now - c.since >= UNUSED_AFTER_MS : c.last.writableFinished
      if (idle) socket.destroy()
    }
  }

  return {
    drain() {
      draining = true
    },
    close(graceMs) {
      draining = true
      if (!server.listening) return Promise.resolve()
      return new Promise((resolve) => {
        const sweep = setInterval(closeIdle, SWEEP_EVERY_MS)
        const cut = setTimeout(() => {
          server.closeAllConnections()
          for (const socket of connections.keys()) socket.destroy()
        }, graceMs)
        NetServer.prototype.close.call(server, () => {
          clearInterval(sweep)
          clearTimeout(cut)
          resolve()
        })
        closeIdle()
      })
    },
  }
}
