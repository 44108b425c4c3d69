import type { ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ErrorResponse } from '../pipeline/types.js'

/** Writes an error handler's answer; a no-op when the client is already gone. */
export function sendErrorResponse(res: ServerResponse, r: ErrorResponse): void {
  if (res.destroyed) return
  if (res.headersSent) {
    // Too late for a clean answer: cut the response so the client sees a failure, not a truncated 200.
    res.destroy()
    return
  }
  res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) })
  res.end(r.body)
}

/** Writes a JSON body with the given status. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  // Ends with a newline, as the error handlers' bodies: shell output does not run together.
  const text = `${JSON.stringify(body)}\n`
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

/**
 * The status to log. A client that hung up before any answer was sent got none: logging the
 * default 200 would count it as a success. 499 is nginx's "client closed request".
 */
export function statusForLog(res: ServerResponse): number {
  return !res.headersSent && res.destroyed ? 499 : res.statusCode
}

/** A complete HTTP/1.1 answer that closes the connection, with a herodot-shaped JSON body. */
function closingJson(status: number, reason: string, message: string): string {
  const body = `${JSON.stringify({ error: { code: status, status: reason, message } })}\n`
  return `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}

const HEADERS_TOO_LARGE = closingJson(431, 'Request Header Fields Too Large', 'The request header fields are too large')

// Node's own answers to the other parser errors (lib/_http_server.js), kept as they are.
const NODE_ANSWERS: Readonly<Record<string, string>> = {
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n',
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
}
const NODE_BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'

/**
 * The server's `clientError` listener: what Node does by default, except that a 431 carries a
 * JSON body like every other error of the gateway (Node's has none, so a client or a log sees
 * an empty answer for a too-large Cookie or token).
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  const response = socket as Duplex & { _httpMessage?: { _headerSent?: boolean } | null }
  if (socket.writable && response._httpMessage?._headerSent !== true) {
    socket.write(err.code === 'HPE_HEADER_OVERFLOW' ? HEADERS_TOO_LARGE : (NODE_ANSWERS[err.code ?? ''] ?? NODE_BAD_REQUEST))
  }
  socket.destroy(err)
}
