import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

const PATH = '/admin/oauth2/introspect'

/** How the fake endpoint answers one token. */
export interface FakeAnswer {
  readonly active: boolean
  readonly sub?: string
  /** Wait this long before answering (to make concurrent requests coalesce). */
  readonly delayMs?: number
}

export interface FakeIntrospection {
  readonly url: string
  /** Every call: the token asked about and the headers it came with. */
  readonly calls: { token: string; headers: IncomingHttpHeaders }[]
  /** Every other request (method and path), each answered 404 as Hydra does, e.g. a gateway looking for a revocation feed. */
  readonly others: string[]
  close(): Promise<void>
}

/**
 * An RFC 7662 endpoint on 127.0.0.1:0 that answers per token from `answers` (unknown tokens are
 * inactive) and records each call with its headers. Like Hydra, it has nothing else: any other
 * method or path gets 404 (and is recorded in `others`).
 */
export async function startFakeIntrospection(answers: Record<string, FakeAnswer>): Promise<FakeIntrospection> {
  const calls: FakeIntrospection['calls'] = []
  const others: string[] = []
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== PATH) {
      others.push(`${req.method} ${req.url}`)
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'Not Found', error_description: 'The requested resource could not be found' }))
      return
    }
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      const token = new URLSearchParams(body).get('token') ?? ''
      calls.push({ token, headers: req.headers })
      const a = answers[token]
      const json = a?.active === true ? { active: true, sub: a.sub ?? 'user', client_id: 'app', exp: Math.floor(Date.now() / 1000) + 3600 } : { active: false }
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(json))
      }, a?.delayMs ?? 0)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}${PATH}`,
    calls,
    others,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
