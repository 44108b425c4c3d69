import { createServer, type Server } from 'node:http'

/**
 * The quickstart's example upstream: answers every request with a JSON echo of what it
 * received (method, path, headers, body size), so the effect of rules and mutators is visible.
 */
export function createEchoServer(): Server {
  return createServer((req, res) => {
    let bytes = 0
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length
    })
    req.on('end', () => {
      const body = JSON.stringify(
        { method: req.method, url: req.url, headers: req.headers, body_bytes: bytes },
        null,
        2,
      )
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
  })
}
