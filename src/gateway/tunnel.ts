/**
 * The upstream side of a proxied protocol upgrade (WebSocket): one fresh connection to the
 * upstream carrying the client's upgrade request, and, once the upstream answers 101, bytes
 * copied both ways until either side closes.
 *
 * A plain `http.request` rather than a WebSocket library or http-proxy: the gateway never needs
 * to understand frames (the pipeline runs on the handshake only), and Node's client already
 * parses the upstream's handshake answer and hands over the socket. No extra dependency, and the
 * header rules are exactly the ones forwarded requests follow (forward-headers.ts).
 */
import { request as httpRequest, STATUS_CODES, type ClientRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Duplex } from 'node:stream'
import type { ErrorResponse } from '../pipeline/types.js'
import { upstreamError, upstreamPath, type ForwardTarget } from './forward.js'
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.js'

/** What happened to an upgrade once the upstream was asked. */
export type TunnelOutcome =
  /** The upstream switched protocols; the tunnel is open (status 101). */
  | { readonly kind: 'upgraded'; readonly status: 101 }
  /** The upstream answered with a normal response, which was relayed to the client. */
  | { readonly kind: 'refused'; readonly status: number }
  /** The client left before the upstream answered. */
  | { readonly kind: 'gone' }

/**
 * Sends the upgrade request to the upstream and connects the two sockets on 101. Resolves once
 * the upstream has answered (or the client left); rejects with a GatehouseError (502/504) when
 * the upstream could not be reached in `timeoutMs`, with nothing written to the client yet, so
 * the caller answers through the error handlers.
 */
export function openTunnel(req: IncomingMessage, client: Duplex, head: Buffer, target: ForwardTarget, timeoutMs: number): Promise<TunnelOutcome> {
  // The client hung up while the pipeline ran: do not bother the upstream.
  if (client.destroyed) return Promise.resolve({ kind: 'gone' })
  const url = target.upstream
  const basePath = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname
  const headers = upstreamRequestHeaders(req, target, url.host)
  // forward-headers.ts drops Connection and Upgrade as hop-by-hop; for this hop they are the point.
  headers.push('connection', 'upgrade', 'upgrade', String(req.headers.upgrade))
  const options = {
    // URL keeps the brackets of an IPv6 literal; the socket API wants the bare address.
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port,
    method: req.method ?? 'GET',
    path: upstreamPath(basePath, target.path, target.stripPath, target.search),
    headers,
    // The list carries Host already (the upstream's, or the client's with preserve_host).
    setHost: false,
    // A tunnel owns its connection for its whole life: pooling would gain nothing.
    agent: false,
    timeout: timeoutMs,
  }
  return new Promise<TunnelOutcome>((resolve, reject) => {
    const up: ClientRequest = url.protocol === 'https:' ? httpsRequest(options) : httpRequest(options)
    let settled = false
    const settle = (outcome: TunnelOutcome): void => {
      settled = true
      client.off('close', onClientClose)
      resolve(outcome)
    }
    const onClientClose = (): void => {
      up.destroy()
      if (!settled) settle({ kind: 'gone' })
    }
    client.once('close', onClientClose)
    up.on('timeout', () => up.destroy(Object.assign(new Error('no answer to the upgrade request in time'), { code: 'ETIMEDOUT' })))
    up.on('error', (err) => {
      if (settled) return
      settled = true
      client.off('close', onClientClose)
      reject(upstreamError(err))
    })
    up.on('upgrade', (res, upstream, upstreamHead) => {
      // From here on only the two sockets matter: no idle timeout on a long-lived tunnel.
      upstream.setTimeout(0)
      client.write(rawHead(101, res.rawHeaders))
      if (upstreamHead.length > 0) client.write(upstreamHead)
      if (head.length > 0) upstream.write(head)
      join(client, upstream)
      settle({ kind: 'upgraded', status: 101 })
    })
    up.on('response', (res) => {
      // The upstream declined the upgrade: relay its answer, then close (the body ends with the
      // connection when it has no length, and this connection is not reused anyway).
      client.write(rawHead(res.statusCode ?? 502, [...clientResponseHeaders(res.headers), 'connection', 'close']))
      client.once('close', () => res.destroy())
      res.pipe(client)
      settle({ kind: 'refused', status: res.statusCode ?? 502 })
    })
    up.end()
  })
}

/** Copies bytes both ways; when either side ends or fails, both are closed. */
function join(a: Duplex, b: Duplex): void {
  const close = (): void => {
    a.destroy()
    b.destroy()
  }
  a.on('error', close).on('close', close)
  b.on('error', close).on('close', close)
  a.pipe(b)
  b.pipe(a)
}

/** An error handler's answer written straight onto the client's socket, which is then closed. */
export function writeErrorResponse(client: Duplex, r: ErrorResponse): void {
  if (client.destroyed) return
  const flat: string[] = []
  for (const [name, value] of Object.entries(r.headers)) flat.push(name, value)
  flat.push('content-length', String(Buffer.byteLength(r.body)), 'connection', 'close')
  client.end(rawHead(r.status, flat) + r.body)
}

/**
 * An HTTP/1.1 status line and header block from a flat `[name, value, …]` list. A value with a
 * line break (which Node's own writer would refuse) is dropped, so nothing can inject headers.
 */
function rawHead(status: number, headers: readonly string[]): string {
  let out = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!
    const value = headers[i + 1]!
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) continue
    out += `${name}: ${value}\r\n`
  }
  return `${out}\r\n`
}
