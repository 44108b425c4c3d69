import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { Server as NetServer, type Socket } from 'node:net'

/**
 * How often idle connections are looked for while closing. A connection is closed when two
 * sweeps in a row find it idle having read nothing in between: the event loop polls its sockets
 * between two sweeps, so a request that had reached the socket (sent before the listener closed,
 * not yet read because the process was busy) is read by then and the connection is not idle.
 */
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
  /** The latest response on it; undefined while it has sent no request. */
  last: ServerResponse | undefined
  /** socket.bytesRead when a sweep last found it idle; -1 when it was not idle then. */
  idleAt: number
}

/**
 * Tracks `server`'s connections (from the start: a drain must know which ones have a request in
 * flight) and closes it without dropping requests.
 *
 * Not `server.close()` itself: since Node 19 it closes idle connections at once, and Node counts
 * a connection whose request is still on its way (sent, not yet read) as idle, so that request
 * would be reset. Here a connection is idle when its last response has been sent, or when it has
 * sent nothing at all, and it is closed once it has stayed so for a sweep (see SWEEP_EVERY_MS).
 */
export function graceful(server: Server, secure: boolean): Graceful {
  const connections = new Map<Socket, Connection>()
  let draining = false
  // With TLS, requests arrive on the TLS socket, which exists once the handshake is done.
  server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => {
    connections.set(socket, { last: undefined, idleAt: -1 })
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
    for (const [socket, c] of connections) {
      // No response yet but bytes read: headers still arriving, or an upgraded (WebSocket)
      // connection; neither is idle.
      const idle = c.last === undefined ? socket.bytesRead === 0 : c.last.writableFinished
      if (!idle) c.idleAt = -1
      else if (c.idleAt === socket.bytesRead) socket.destroy()
      else c.idleAt = socket.bytesRead
    }
  }

  return {
    drain() {
      draining = true
      // Requests already in flight close their connection too, unless their headers are out.
      for (const c of connections.values()) if (c.last !== undefined && !c.last.headersSent) c.last.shouldKeepAlive = false
    },
    close(graceMs) {
      draining = true
      if (!server.listening) return Promise.resolve()
      return new Promise((resolve) => {
        const sweep = setInterval(closeIdle, SWEEP_EVERY_MS)
        // The first sweep only notes which connections are idle; the next one closes them.
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
