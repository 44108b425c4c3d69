import type { ServerResponse } from 'node:http'
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
  const text = JSON.stringify(body)
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
