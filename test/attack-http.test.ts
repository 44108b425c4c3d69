import t from 'tap'
import { createServer, maxHeaderSize, type IncomingHttpHeaders } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose'
import { request } from 'undici'
import { rawExchange } from './helpers/raw-http.js'
import { ALL_HANDLERS, startGateway } from './helpers/servers.js'

// HTTP-level attacks: request smuggling (conflicting Content-Length / Transfer-Encoding),
// oversized headers, header injection through rule templates, slow clients, and bodies larger
// than a `remote` authorizer may buffer. Requests whose framing is the attack go over raw
// sockets: HTTP clients refuse to send them.

/** An upstream that records every request, including whether its body arrived complete. */
interface Received {
  readonly url: string
  readonly headers: IncomingHttpHeaders
  bytes: number
  complete: boolean
}
async function recordingServer(status = 200): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = []
  const server = createServer((req, res) => {
    const r: Received = { url: req.url ?? '', headers: req.headers, bytes: 0, complete: false }
    received.push(r)
    req.on('data', (d: Buffer) => (r.bytes += d.length))
    req.on('end', () => {
      r.complete = true
      res.writeHead(status, { 'content-type': 'text/plain' })
      res.end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  }
}

const up = await recordingServer()
const authz = await recordingServer()
t.teardown(async () => {
  await up.close()
  await authz.close()
})

// A key set on disk for the jwt rules: the tokens carry the claims we want templates to render.
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-attack-http-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] }))
const jwksUrl = pathToFileURL(join(dir, 'jwks.json')).href
const now = (): number => Math.floor(Date.now() / 1000)
const token = (claims: JWTPayload): Promise<string> =>
  new SignJWT({ iat: now(), exp: now() + 300, ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(privateKey)

const LIMIT = 1024
/** Long enough that a busy machine serves a client that is slow but within it. */
const READ_TIMEOUT_MS = 3000
const rules = `
- id: public
  match: { url: 'http://gw.test/public/<.*>', methods: [GET, POST, PUT] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators:
    - handler: header
      config:
        headers:
          X-Matched-Rest: '{{ index .MatchContext.RegexpCaptureGroups 0 }}'
          X-Client: '{{ .MatchContext.Header.Get "X-Client" }}'
- id: admin
  match: { url: 'http://gw.test/admin/<.*>', methods: [GET, POST] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: unauthorized }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: jwt
  match: { url: 'http://gw.test/jwt/<.*>', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: jwt }]
  authorizer: { handler: allow }
  mutators:
    - handler: header
      config: { headers: { X-User: '{{ print .Subject }}', X-Nick: '{{ print .Extra.nick }}' } }
- id: upload
  match: { url: 'http://gw.test/upload/<.*>', methods: [POST, PUT] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: anonymous }]
  authorizer: { handler: remote }
  mutators: [{ handler: noop }]
- id: upload-jwt
  match: { url: 'http://gw.test/upload-jwt/<.*>', methods: [POST] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: jwt }]
  authorizer: { handler: remote, config: { headers: { X-Subject: '{{ print .Subject }}' } } }
  mutators: [{ handler: noop }]
`
const gw = await startGateway(
  { 'rules.yml': rules },
  {
    serve: { proxy: { host: '127.0.0.1', port: 0, timeout: { read: `${READ_TIMEOUT_MS}ms`, write: '5s', idle: '5s' } }, api: { host: '127.0.0.1', port: 0 } },
    authenticators: { ...ALL_HANDLERS.authenticators, jwt: { enabled: true, config: { jwks_urls: [jwksUrl] } } },
    authorizers: { ...ALL_HANDLERS.authorizers, remote: { enabled: true, config: { remote: `${authz.url}/check`, max_body_size: LIMIT } } },
  },
)
t.teardown(() => gw.close())
const port = Number(new URL(gw.proxy).port)
const apiPort = Number(new URL(gw.api).port)

/** The number of requests the upstream and the authorizer have seen so far. */
const counts = (): { up: number; authz: number } => ({ up: up.received.length, authz: authz.received.length })

// ---------------------------------------------------------------------------------------------
// Framing: Node's parser (llhttp) refuses ambiguous framing before the gateway sees a request.
// Its refusal is a bare "400 Bad Request" with "Connection: close" and no body: the gateway's
// JSON error handler never ran, which is how we know who refused.

const NODE_400 = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'

t.test('conflicting or malformed framing → 400 from the parser, nothing forwarded, no second request', async (t) => {
  const smuggled = 'GET /admin/x HTTP/1.1\r\nHost: gw.test\r\n\r\n'
  const cases: [name: string, head: string, body: string][] = [
    ['Content-Length and Transfer-Encoding', 'Content-Length: 4\r\nTransfer-Encoding: chunked', `0\r\n\r\n${smuggled}`],
    ['Transfer-Encoding before Content-Length', 'Transfer-Encoding: chunked\r\nContent-Length: 50', `0\r\n\r\n${smuggled}`],
    ['two Content-Length values', 'Content-Length: 4\r\nContent-Length: 40', `abcd${smuggled}`],
    ['two equal Content-Length headers', 'Content-Length: 4\r\nContent-Length: 4', `abcd${smuggled}`],
    ['a Content-Length list', 'Content-Length: 4, 4', `abcd${smuggled}`],
    ['a signed Content-Length', 'Content-Length: +4', `abcd${smuggled}`],
    ['a negative Content-Length', 'Content-Length: -1', 'abcd'],
    ['a hex Content-Length', 'Content-Length: 0x4', 'abcd'],
    ['Transfer-Encoding not ending in chunked', 'Transfer-Encoding: chunked, identity', `0\r\n\r\n${smuggled}`],
    ['an unknown Transfer-Encoding', 'Transfer-Encoding: xchunked', `0\r\n\r\n${smuggled}`],
    ['whitespace before the colon', 'Transfer-Encoding : chunked\r\nContent-Length: 4', `0\r\n\r\n${smuggled}`],
    ['a vertical tab in Transfer-Encoding', 'Transfer-Encoding:\x0bchunked', `0\r\n\r\n${smuggled}`],
    ['Transfer-Encoding folded onto a second line', 'Transfer-Encoding:\r\n chunked', `0\r\n\r\n${smuggled}`],
    ['a chunk size that overflows', 'Transfer-Encoding: chunked', `ffffffffffffffffffff\r\nabcd\r\n0\r\n\r\n${smuggled}`],
    ['a chunk size that is not hex', 'Transfer-Encoding: chunked', `4g\r\nabcd\r\n0\r\n\r\n${smuggled}`],
    ['a NUL in a header value', 'X-A: a\x00b', ''],
    ['a header name with a space', 'X Forwarded-For: 1.2.3.4', ''],
  ]
  for (const [name, head, body] of cases) {
    const before = counts()
    const ex = await rawExchange(port, `POST /public/x HTTP/1.1\r\nHost: gw.test\r\n${head}\r\n\r\n${body}`)
    t.equal(ex.raw, NODE_400, `${name}: the parser's bare 400, and nothing after it`)
    t.ok(ex.closedByServer, `${name}: the connection is closed`)
    t.same(counts(), before, `${name}: nothing reached the upstream or the authorizer`)
  }
  // The parser really is the strict one: no insecureHTTPParser on this server.
  const ex = await rawExchange(port, `POST /admin/x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`)
  t.equal(ex.raw, NODE_400, 'even for a rule that would have refused the request itself')
})

t.test('a pipelined request after a chunked body is a request of its own, matched by its own rule', async (t) => {
  const before = counts()
  const body = 'POST /public/x HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
  const ex = await rawExchange(port, `${body}GET /admin/x HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`, { responses: 2 })
  t.same(ex.responses.map((r) => r.status), [200, 401], 'the public body, then the admin request, each answered')
  const seen = up.received.slice(before.up)
  t.same(seen.map((s) => [s.url, s.bytes, s.complete]), [['/public/x', 5, true]], 'only the public request went upstream, with its 5 bytes')
  const framing = [seen[0]?.headers['transfer-encoding'], seen[0]?.headers['content-length']]
  t.ok((framing[0] === 'chunked') !== (framing[1] === '5'), `framed one way only: ${JSON.stringify(framing)}`)
})

t.test('Content-Length named in Connection is dropped, and the body still arrives framed', async (t) => {
  const before = counts()
  const ex = await rawExchange(port, 'POST /public/x HTTP/1.1\r\nHost: gw.test\r\nConnection: content-length, close\r\nContent-Length: 5\r\n\r\nhello', { responses: 1 })
  t.equal(ex.status, 200)
  const s = up.received[before.up]
  t.same([s?.bytes, s?.complete], [5, true], 'the upstream got exactly the 5 bytes')
  t.ok(s?.headers['content-length'] === '5' || s?.headers['transfer-encoding'] === 'chunked', 'framed by a length or chunks')
  t.notOk(s?.headers['content-length'] !== undefined && s?.headers['transfer-encoding'] !== undefined, 'never both')
})

// ---------------------------------------------------------------------------------------------
// Header size: Node's limit (maxHeaderSize, 16 KiB unless --max-http-header-size says otherwise)
// applies to the whole header section; the gateway sets no other.

t.test(`headers beyond ${maxHeaderSize} bytes → 431, nothing forwarded`, async (t) => {
  t.equal(maxHeaderSize, 16 * 1024, 'the limit in force is Node\'s default')
  const before = counts()
  const under = await rawExchange(port, `GET /public/x HTTP/1.1\r\nHost: gw.test\r\nX-Big: ${'a'.repeat(maxHeaderSize - 2048)}\r\nConnection: close\r\n\r\n`)
  t.equal(under.status, 200, 'a header section under the limit passes')
  const over = await rawExchange(port, `GET /public/x HTTP/1.1\r\nHost: gw.test\r\nX-Big: ${'a'.repeat(maxHeaderSize + 1)}\r\nConnection: close\r\n\r\n`)
  t.equal(over.status, 431, 'one over it: 431 from the parser')
  t.equal(over.responses[0]?.headers['content-type'], 'application/json')
  t.equal(over.responses[0]?.body, '{"error":{"code":431,"status":"Request Header Fields Too Large","message":"The request header fields are too large"}}\n', 'with a JSON body, like the other errors')
  const many = Array.from({ length: 600 }, (_, i) => `X-H${i}: ${'v'.repeat(24)}`).join('\r\n')
  const manySmall = await rawExchange(port, `GET /admin/x HTTP/1.1\r\nHost: gw.test\r\n${many}\r\nConnection: close\r\n\r\n`)
  t.equal(manySmall.status, 431, 'many small headers count together')
  t.equal(counts().up, before.up + 1, 'only the request under the limit was forwarded')
})

// ---------------------------------------------------------------------------------------------
// Header injection: values rendered by templates come from token claims, captures and client
// headers. A value that could end the header line is refused (500, the rule is broken for this
// request), never sent, whether it is a plain control character or a character above 0xFF that
// would be truncated to one when written as latin1 (U+010D U+010A → "\r\n").

const HOSTILE = [
  ['CR LF', 'alice\r\nX-Injected: 1'],
  ['LF', 'alice\nX-Injected: 1'],
  ['CR', 'alice\rX-Injected: 1'],
  ['NUL', 'alice\u0000X-Injected: 1'],
  ['DEL', 'alice\u007f'],
  ['U+010D U+010A', 'alice\u010d\u010aX-Injected: 1'],
  ['U+2028', 'alice\u2028X-Injected: 1'],
] as const

t.test('CR/LF in a claim rendered by the header mutator → 500, never sent (proxy and decision API)', async (t) => {
  for (const [name, value] of HOSTILE) {
    for (const claim of ['sub', 'nick'] as const) {
      const before = counts()
      const authorization = `Bearer ${await token({ sub: 'alice', nick: 'al', [claim]: value })}`
      const res = await request(`${gw.proxy}/jwt/x`, { headers: { host: 'gw.test', authorization } })
      await res.body.dump()
      t.equal(res.statusCode, 500, `${name} in ${claim}: 500`)
      t.equal(counts().up, before.up, `${name} in ${claim}: nothing forwarded`)
      const d = await request(`${gw.api}/decisions/jwt/x`, { headers: { host: 'gw.test', authorization } })
      await d.body.dump()
      t.equal(d.statusCode, 500, `${name} in ${claim}: the decision API answers 500`)
      t.equal(d.headers['x-injected'], undefined, `${name} in ${claim}: no injected header in the decision`)
    }
  }
  for (const u of up.received) t.equal(u.headers['x-injected'], undefined, `${u.url}: the upstream never saw an injected header`)
  const before = counts()
  const ok = await request(`${gw.proxy}/jwt/x`, { headers: { host: 'gw.test', authorization: `Bearer ${await token({ sub: 'alice', nick: 'caf\u00e9 \t tab' })}` } })
  await ok.body.dump()
  t.equal(ok.statusCode, 200, 'latin-1 text and tabs are fine')
  t.equal(up.received[before.up]?.headers['x-nick'], 'caf\u00e9 \t tab', 'and arrive as they were')
})

t.test('CR/LF in a claim rendered into a remote authorizer header → 500 at once, the authorizer is not called', async (t) => {
  for (const [name, value] of HOSTILE) {
    const before = counts()
    const authorization = `Bearer ${await token({ sub: value })}`
    const res = await request(`${gw.proxy}/upload-jwt/x`, { method: 'POST', body: 'x', headers: { host: 'gw.test', authorization } })
    await res.body.dump()
    t.equal(res.statusCode, 500, `${name}: 500`)
    // Refused when rendered (the failure is logged before the answer is sent). Left to the HTTP
    // client, the value would be refused when sending: a failed call, retried for the call's
    // whole budget (1 s), then a 500 for an authorizer that "could not be reached".
    t.equal(gw.logs.filter((l) => l.msg === 'request failed').at(-1)?.code, 'GATEHOUSE_ERR_TEMPLATE', `${name}: refused at once, when rendered`)
    t.same(counts(), before, `${name}: neither the authorizer nor the upstream was called`)
  }
  t.match(gw.logs.filter((l) => l.code === 'GATEHOUSE_ERR_TEMPLATE').map((l) => l.reason).join('\n'), /the character U\+010D, which a header value cannot carry/, 'the log says why')
})

t.test('captures and client headers cannot carry a line break into a header', async (t) => {
  const before = counts()
  // Escaped CR/LF stay escaped in the path and in what rules match (control characters are never
  // decoded for matching, other escapes are), so in the capture; raw ones are refused by the parser.
  const escaped = await rawExchange(port, 'GET /public/x%0d%0aX-Injected:%201 HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n')
  t.equal(escaped.status, 200)
  const s = up.received[before.up]
  t.equal(s?.headers['x-matched-rest'], 'x%0D%0AX-Injected: 1', 'the capture is forwarded as text')
  t.equal(s?.headers['x-injected'], undefined)
  const rawCr = await rawExchange(port, 'GET /public/x\rX-Injected: 1 HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n')
  t.equal(rawCr.raw, NODE_400, 'a raw CR in the request line: the parser refuses it')
  // A client header copied by a template: its value cannot hold CR/LF, and obs-fold is refused.
  const folded = await rawExchange(port, 'GET /public/x HTTP/1.1\r\nHost: gw.test\r\nX-Client: a\r\n X-Injected: 1\r\nConnection: close\r\n\r\n')
  t.equal(folded.raw, NODE_400, 'an obs-folded header value: the parser refuses it')
  const ctl = await rawExchange(port, 'GET /public/x HTTP/1.1\r\nHost: gw.test\r\nX-Client: a\x01b\r\nConnection: close\r\n\r\n')
  t.equal(ctl.status, 400, 'a control character in a header value: 400')
  t.equal(counts().up, before.up + 1, 'only the escaped path went upstream')
})

// ---------------------------------------------------------------------------------------------
// Slow clients: the read timeout (serve.proxy.timeout.read) bounds receiving the headers and the
// whole request. Node checks it every second (connectionsCheckingInterval), so a 3 s timeout
// closes the connection between 3 s and ~4 s (later on a busy machine); the slow clients below
// would take about 9 s to finish.

const CLOSE_BOUND_MS = 2 * READ_TIMEOUT_MS

t.test('headers sent a byte at a time past the read timeout → closed, nothing forwarded', async (t) => {
  const before = counts()
  const head = `GET /public/x HTTP/1.1\r\nHost: gw.test\r\nX-Slow: ${'a'.repeat(200)}`
  const ex = await rawExchange(port, '', { pieces: head.split(''), delayMs: 40, timeoutMs: 20_000 })
  t.ok(ex.closedByServer, `the server closed the connection (after ${ex.ms} ms)`)
  t.ok(ex.ms >= READ_TIMEOUT_MS - 50 && ex.ms < CLOSE_BOUND_MS, `within the read timeout's bound (${ex.ms} ms)`)
  t.match(ex.raw, /^(HTTP\/1\.1 408 Request Timeout\r\n|$)/, '408 or nothing')
  t.same(counts(), before, 'nothing was forwarded')
})

t.test('a body sent too slowly past the read timeout → closed, the upstream never gets it whole', async (t) => {
  // Both paths side by side: each waits for the read timeout.
  const paths = ['/public/x', '/upload/x']
  const before = counts()
  const exchanges = await Promise.all(
    paths.map((path) => {
      const head = `POST ${path} HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 200\r\n\r\n`
      return rawExchange(port, '', { pieces: [head, ...'b'.repeat(200).split('')], delayMs: 40, timeoutMs: 20_000 })
    }),
  )
  for (const [i, ex] of exchanges.entries()) {
    const path = paths[i]!
    t.ok(ex.closedByServer, `${path}: the server closed the connection (after ${ex.ms} ms)`)
    t.ok(ex.ms >= READ_TIMEOUT_MS - 50 && ex.ms < CLOSE_BOUND_MS, `${path}: within the read timeout's bound (${ex.ms} ms)`)
    t.match(ex.raw, /^(HTTP\/1\.1 408 Request Timeout\r\n|$)/, `${path}: 408 or nothing`)
  }
  // Give an aborted upstream request time to show up as incomplete.
  await new Promise((r) => setTimeout(r, 100))
  t.notOk(up.received.slice(before.up).some((r) => r.complete), 'no upstream request completed')
  t.equal(counts().authz, before.authz, 'the authorizer was not called')
})

t.test('a client that is slow but within the read timeout is served', async (t) => {
  const head = 'GET /public/slow HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n'
  const ex = await rawExchange(port, '', { pieces: head.match(/[^]{1,8}/g)!, delayMs: 20, timeoutMs: 20_000 })
  t.equal(ex.status, 200)
})

// ---------------------------------------------------------------------------------------------
// Bodies for a `remote` authorizer are buffered up to its max_body_size (1024 here); beyond it,
// 413 before the authorizer is called, and the rest is read and dropped, not kept.

t.test(`a body over ${LIMIT} bytes for a remote authorizer → 413, the authorizer never called`, async (t) => {
  const cases: [name: string, head: string, body: string][] = [
    ['a declared length over the limit', `Content-Length: ${LIMIT + 1}`, 'x'.repeat(LIMIT + 1)],
    ['a chunked body over the limit', 'Transfer-Encoding: chunked', `${(LIMIT + 1).toString(16)}\r\n${'x'.repeat(LIMIT + 1)}\r\n0\r\n\r\n`],
    ['a chunked body over the limit in small chunks', 'Transfer-Encoding: chunked', `${'10\r\nxxxxxxxxxxxxxxxx\r\n'.repeat(LIMIT / 16 + 1)}0\r\n\r\n`],
  ]
  for (const [name, head, body] of cases) {
    const before = counts()
    const ex = await rawExchange(port, `POST /upload/x HTTP/1.1\r\nHost: gw.test\r\n${head}\r\nConnection: close\r\n\r\n${body}`, { responses: 1 })
    t.equal(ex.status, 413, `${name}: 413`)
    t.same(counts(), before, `${name}: neither the authorizer nor the upstream was called`)
  }
  const before = counts()
  const ok = await rawExchange(port, `POST /upload/x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${LIMIT}\r\nConnection: close\r\n\r\n${'y'.repeat(LIMIT)}`, { responses: 1 })
  t.equal(ok.status, 200, 'exactly the limit passes')
  t.same(authz.received.slice(before.authz).map((r) => r.bytes), [LIMIT], 'the authorizer got the whole body')
  t.same(up.received.slice(before.up).map((r) => r.bytes), [LIMIT], 'and so did the upstream')
  t.ok(authz.received.every((r) => r.bytes <= LIMIT), 'the authorizer never received more than the limit')
})

// A real measure of what is retained needs a collection first: garbage chunks count until then.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
/** Heap and buffers still referenced: the least of a few collections (buffers are freed lazily). */
async function retained(): Promise<number> {
  let least = Infinity
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((r) => setTimeout(r, 30))
    const m = process.memoryUsage()
    least = Math.min(least, m.heapUsed + m.arrayBuffers)
  }
  return least
}

t.test('an endless body for a remote authorizer is answered 413 early and not buffered', async (t) => {
  const before = counts()
  const total = 32 * 1024 * 1024
  const chunk = Buffer.alloc(64 * 1024, 'z')
  const start = await retained()
  // Keep sending after the answer, and measure while the request is still open: had the gateway
  // kept what it read, it would still hold it now.
  const result = await new Promise<{ status: number | undefined; answeredAt: number; sent: number; held: number }>((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let sent = 0
    let answeredAt = -1
    let answer = ''
    let finished = false
    const finish = (): void => {
      if (finished) return
      finished = true
      void retained().then((now) => {
        socket.destroy()
        const m = /^HTTP\/1\.1 (\d{3})/.exec(answer)
        resolve({ status: m === null ? undefined : Number(m[1]), answeredAt, sent, held: now - start })
      })
    }
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1')
      if (answeredAt === -1 && /^HTTP\/1\.1 \d{3}/.test(answer)) answeredAt = sent
    })
    socket.on('error', finish)
    socket.on('close', finish)
    socket.write('POST /upload/x HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n')
    const pump = (): void => {
      while (!finished && sent < total) {
        sent += chunk.length
        const a = socket.write(`${chunk.length.toString(16)}\r\n`)
        const b = socket.write(chunk)
        if (!socket.write('\r\n') || !a || !b) {
          socket.once('drain', pump)
          return
        }
      }
      // Everything is written, and the body is not finished: let the gateway read it, then measure.
      if (!finished) setTimeout(finish, 100)
    }
    pump()
  })
  const mib = (n: number): number => Math.round(n / 1024 / 1024)
  t.equal(result.status, 413, '413')
  t.ok(result.answeredAt >= 0 && result.answeredAt < total / 4, `answered after ${mib(result.answeredAt)} of the ${mib(total)} MiB`)
  t.same(counts(), before, 'neither the authorizer nor the upstream was called')
  t.ok(result.held < 8 * 1024 * 1024, `${mib(result.held)} MiB held after ${mib(result.sent)} MiB were sent`)
})

t.test('the decision API bounds the body for a remote authorizer the same way', async (t) => {
  const before = counts()
  const ex = await rawExchange(apiPort, `POST /decisions/upload/x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${LIMIT + 1}\r\nConnection: close\r\n\r\n${'x'.repeat(LIMIT + 1)}`, { responses: 1 })
  t.equal(ex.status, 413)
  t.same(counts(), before, 'the authorizer was not called')
})
