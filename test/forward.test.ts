import t from 'tap'
import { once } from 'node:events'
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { GatehouseError } from '../src/errors.js'
import { forward, upstreamPath, type ForwardTarget } from '../src/gateway/forward.js'
import { Upstreams } from '../src/gateway/upstreams.js'

type Handler = (req: IncomingMessage, res: ServerResponse) => void
const MB = 1024 * 1024
const CHUNK = Buffer.alloc(MB, 'x')

async function listen(handler: Handler): Promise<{ server: Server; port: number }> {
  const server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return { server, port: (server.address() as AddressInfo).port }
}

/** Fails (instead of hanging) when p does not settle within ms. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** An upstream answering with a JSON echo of what it received. */
async function echoUpstream(): Promise<string> {
  const { port } = await listen((req, res) => {
    let bytes = 0
    req.on('data', (c: Buffer) => (bytes += c.length))
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bytes }))
    })
  })
  return `http://127.0.0.1:${port}`
}

type TargetOptions = Partial<Omit<ForwardTarget, 'upstream'>> & { upstream: string }

/** A proxy in front of `forward`; forward's outcome (undefined or the rejection) lands in `outcomes`. */
async function startProxy(opts: TargetOptions, upstreamOptions: Partial<ConstructorParameters<typeof Upstreams>[0]> = {}) {
  // Timeouts no test waits for (one that does sets its own): long enough for a busy machine to
  // stream 50 MB through the proxy before the upstream's answer.
  const upstreams = new Upstreams({ connectTimeoutMs: 5000, headersTimeoutMs: 20_000, bodyTimeoutMs: 20_000, ...upstreamOptions })
  t.teardown(() => upstreams.close())
  const upstream = new URL(opts.upstream)
  const outcomes: Promise<unknown>[] = []
  const { port } = await listen((req, res) => {
    const q = (req.url ?? '/').indexOf('?')
    const target: ForwardTarget = {
      path: q === -1 ? (req.url ?? '/') : (req.url ?? '/').slice(0, q),
      search: q === -1 ? '' : (req.url ?? '').slice(q),
      preserveHost: false,
      setHeaders: {},
      requestId: 'req-1',
      trustForwardedHeaders: false,
      ...opts,
      upstream,
    }
    outcomes.push(
      forward(req, res, target, upstreams).then(
        () => undefined,
        (err: unknown) => {
          if (!res.headersSent && !res.destroyed && err instanceof GatehouseError) res.writeHead(err.status).end(err.code)
          return err
        },
      ),
    )
  })
  return { url: `http://127.0.0.1:${port}`, port, outcomes }
}

interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** A plain node:http call (it lets us send headers undici would refuse, e.g. Connection, TE). */
function call(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return within(
    new Promise<Reply>((resolve, reject) => {
      const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(opts.body)
    }),
    5000,
    `call ${url}`,
  )
}

async function echoed(url: string, opts: Parameters<typeof call>[1] = {}): Promise<{ method: string; url: string; headers: IncomingHttpHeaders; bytes: number }> {
  const r = await call(url, opts)
  if (r.status !== 200) throw new Error(`expected the upstream's 200, got ${r.status}: ${r.body}`)
  return JSON.parse(r.body) as { method: string; url: string; headers: IncomingHttpHeaders; bytes: number }
}

t.test('upstreamPath: base path, strip_path on whole segments, search kept', async (t) => {
  t.equal(upstreamPath('/base', '/api/x', '/api', '?a=b'), '/base/x?a=b')
  t.equal(upstreamPath('', '/api/x', 'api/', ''), '/x')
  t.equal(upstreamPath('', '/api', '/api', ''), '/')
  t.equal(upstreamPath('/base', '/api', '/api', ''), '/base')
  t.equal(upstreamPath('', '/apix', '/api', ''), '/apix', 'no strip inside a segment')
  t.equal(upstreamPath('/base', '/', undefined, ''), '/base/')
})

t.test('GET is forwarded with path and query, without a body', async (t) => {
  const proxy = await startProxy({ upstream: await echoUpstream() })
  const e = await echoed(`${proxy.url}/items/7?x=1&y=2`)
  t.equal(e.method, 'GET')
  t.equal(e.url, '/items/7?x=1&y=2')
  t.equal(e.headers['transfer-encoding'], undefined, 'no chunked body invented')
  t.equal(e.headers['x-request-id'], 'req-1')
})

t.test('POST body and content-length are forwarded', async (t) => {
  const proxy = await startProxy({ upstream: await echoUpstream() })
  const e = await echoed(`${proxy.url}/submit`, { method: 'POST', body: 'hello=world', headers: { 'content-type': 'text/plain' } })
  t.equal(e.method, 'POST')
  t.equal(e.bytes, 11)
  t.equal(e.headers['content-length'], '11')
  t.equal(e.headers['content-type'], 'text/plain')
})

t.test('50 MB upload is streamed: the upstream receives data before the client finished sending', { timeout: 30_000 }, async (t) => {
  let gotData!: () => void
  const upstreamHasData = new Promise<void>((r) => (gotData = r))
  const { port } = await listen((req, res) => {
    let bytes = 0
    req.on('data', (c: Buffer) => {
      bytes += c.length
      gotData()
    })
    req.on('end', () => res.end(String(bytes)))
  })
  const proxy = await startProxy({ upstream: `http://127.0.0.1:${port}` })
  const req = request(`${proxy.url}/upload`, { method: 'PUT', headers: { 'content-length': String(50 * MB) }, agent: false })
  const response = once(req, 'response') as Promise<[IncomingMessage]>
  req.write(CHUNK)
  // A buffering proxy would wait for all 50 MB before calling the upstream: this would time out.
  await within(upstreamHasData, 15_000, 'upstream received the first chunk while 49 MB were still unsent')
  for (let i = 1; i < 50; i++) if (!req.write(CHUNK)) await once(req, 'drain')
  req.end()
  const [res] = await within(response, 20_000, 'upload response')
  let body = ''
  for await (const c of res) body += String(c)
  t.equal(body, String(50 * MB), 'all bytes arrived')
})

t.test('50 MB download is streamed: the client receives data before the upstream finished sending', { timeout: 30_000 }, async (t) => {
  let clientGotData!: () => void
  const clientHasData = new Promise<void>((r) => (clientGotData = r))
  const { port } = await listen(async (_req, res) => {
    res.writeHead(200, { 'content-length': String(50 * MB) })
    res.write(CHUNK)
    // A buffering proxy would wait for the whole body before answering: this would time out.
    await within(clientHasData, 15_000, 'client received the first chunk while 49 MB were still unsent')
    for (let i = 1; i < 50; i++) if (!res.write(CHUNK)) await once(res, 'drain')
    res.end()
  })
  const proxy = await startProxy({ upstream: `http://127.0.0.1:${port}` })
  const received = await within(
    new Promise<number>((resolve, reject) => {
      request(`${proxy.url}/download`, { agent: false }, (res) => {
        let bytes = 0
        res.on('data', (c: Buffer) => {
          bytes += c.length
          clientGotData()
        })
        res.on('end', () => resolve(bytes))
        res.on('error', reject)
      })
        .on('error', reject)
        .end()
    }),
    20_000,
    'download',
  )
  t.equal(received, 50 * MB)
  t.same(await Promise.all(proxy.outcomes), [undefined], 'forward resolved')
})

t.test('strip_path is removed and the upstream base path prefixed', async (t) => {
  const proxy = await startProxy({ upstream: `${await echoUpstream()}/base/`, stripPath: '/api' })
  t.equal((await echoed(`${proxy.url}/api/x?q=1`)).url, '/base/x?q=1')
})

t.test('Host: the upstream host by default, the client host with preserve_host', async (t) => {
  const up = await echoUpstream()
  const plain = await startProxy({ upstream: up })
  t.equal((await echoed(`${plain.url}/`, { headers: { host: 'public.example:4455' } })).headers.host, new URL(up).host)
  const preserving = await startProxy({ upstream: up, preserveHost: true })
  t.equal((await echoed(`${preserving.url}/`, { headers: { host: 'public.example:4455' } })).headers.host, 'public.example:4455')
})

const spoofed = { host: 'gw.example', 'x-forwarded-for': '10.9.9.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'front.example', forwarded: 'for=10.9.9.9' }

t.test('X-Forwarded-* from an untrusted client are replaced, Forwarded dropped', async (t) => {
  const proxy = await startProxy({ upstream: await echoUpstream(), trustForwardedHeaders: false })
  const h = (await echoed(`${proxy.url}/`, { headers: spoofed })).headers
  t.equal(h['x-forwarded-for'], '127.0.0.1')
  t.equal(h['x-forwarded-proto'], 'http')
  t.equal(h['x-forwarded-host'], 'gw.example')
  t.equal(h.forwarded, undefined)
})

t.test('X-Forwarded-* from a trusted front proxy are kept, the client address appended', async (t) => {
  const proxy = await startProxy({ upstream: await echoUpstream(), trustForwardedHeaders: true })
  const h = (await echoed(`${proxy.url}/`, { headers: spoofed })).headers
  t.equal(h['x-forwarded-for'], '10.9.9.9, 127.0.0.1')
  t.equal(h['x-forwarded-proto'], 'https')
  t.equal(h['x-forwarded-host'], 'front.example')
  t.equal(h.forwarded, 'for=10.9.9.9')
})

t.test('hop-by-hop headers are removed in both directions, end-to-end ones kept', async (t) => {
  let seen: IncomingHttpHeaders = {}
  const { port } = await listen((req, res) => {
    seen = req.headers
    res.writeHead(200, { connection: 'keep-alive, X-Up-Private', 'x-up-private': '1', 'keep-alive': 'timeout=1', 'proxy-authenticate': 'Basic', 'x-up-public': '2' })
    res.end('ok')
  })
  const proxy = await startProxy({ upstream: `http://127.0.0.1:${port}` })
  const r = await call(`${proxy.url}/`, {
    headers: { connection: 'keep-alive, X-Private', 'x-private': 's', 'keep-alive': 'timeout=9', te: 'trailers', upgrade: 'h2c', expect: '100-continue', 'proxy-authorization': 'Basic eA==', authorization: 'Bearer t', 'x-public': 'p' },
  })
  t.equal(r.status, 200)
  for (const name of ['x-private', 'te', 'upgrade', 'expect', 'proxy-authorization']) t.equal(seen[name], undefined, `${name} not sent upstream`)
  t.not(seen['keep-alive'], 'timeout=9', "client's keep-alive not sent upstream")
  t.equal(seen.authorization, 'Bearer t')
  t.equal(seen['x-public'], 'p')
  t.equal(r.headers['x-up-private'], undefined, 'header named in the upstream Connection dropped')
  t.equal(r.headers['proxy-authenticate'], undefined)
  t.not(r.headers['keep-alive'], 'timeout=1', "upstream's keep-alive not passed on")
  t.equal(r.headers['x-up-public'], '2')
})

t.test('several Set-Cookie headers stay separate', async (t) => {
  const { port } = await listen((_req, res) => {
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly'])
    res.end('ok')
  })
  const proxy = await startProxy({ upstream: `http://127.0.0.1:${port}` })
  t.same((await call(`${proxy.url}/`)).headers['set-cookie'], ['a=1; Path=/', 'b=2; HttpOnly'])
})

t.test('mutator headers override incoming ones whatever their case', async (t) => {
  const proxy = await startProxy({ upstream: await echoUpstream(), setHeaders: { 'X-User': 'alice', 'X-Forwarded-Host': 'set.example' } })
  const r = await call(`${proxy.url}/`, { headers: { 'x-user': 'mallory' } })
  const e = JSON.parse(r.body) as { headers: IncomingHttpHeaders }
  t.equal(e.headers['x-user'], 'alice')
  t.equal(e.headers['x-forwarded-host'], 'set.example')
  t.equal(e.headers['x-request-id'], 'req-1')
})

t.test('a mutator header value undici refuses (CR/LF) → 500 GATEHOUSE_ERR_INTERNAL', async (t) => {
  const proxy = await startProxy({ upstream: await echoUpstream(), setHeaders: { 'X-Bad': 'a\r\nInjected: 1' } })
  t.equal((await call(`${proxy.url}/`)).status, 500)
  const [err] = await Promise.all(proxy.outcomes)
  t.equal((err as GatehouseError).code, 'GATEHOUSE_ERR_INTERNAL')
})

t.test('connection refused → 502 GATEHOUSE_ERR_UPSTREAM_UNREACHABLE', async (t) => {
  const { server, port } = await listen(() => {})
  await new Promise<void>((r) => server.close(() => r()))
  const proxy = await startProxy({ upstream: `http://127.0.0.1:${port}` })
  const r = await call(`${proxy.url}/`)
  t.equal(r.status, 502)
  const [err] = await Promise.all(proxy.outcomes)
  t.type(err, GatehouseError)
  t.equal((err as GatehouseError).code, 'GATEHOUSE_ERR_UPSTREAM_UNREACHABLE')
})

t.test('upstream that never answers → 504 GATEHOUSE_ERR_UPSTREAM_TIMEOUT', async (t) => {
  const { port } = await listen(() => {})
  const proxy = await startProxy({ upstream: `http://127.0.0.1:${port}` }, { headersTimeoutMs: 200 })
  const r = await call(`${proxy.url}/`)
  t.equal(r.status, 504)
  const [err] = await Promise.all(proxy.outcomes)
  t.equal((err as GatehouseError).code, 'GATEHOUSE_ERR_UPSTREAM_TIMEOUT')
})

t.test('client aborting mid-download aborts the upstream request', { timeout: 15_000 }, async (t) => {
  let upstreamClosed!: (finished: boolean) => void
  const closed = new Promise<boolean>((r) => (upstreamClosed = r))
  const { port } = await listen((_req, res) => {
    res.on('close', () => upstreamClosed(res.writableFinished))
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    res.write(CHUNK) // …and never ends
  })
  const proxy = await startProxy({ upstream: `http://127.0.0.1:${port}` })
  const req = request(`${proxy.url}/stream`, { agent: false }, (res) => res.once('data', () => req.destroy()))
  req.on('error', () => {})
  req.end()
  t.equal(await within(closed, 10_000, "upstream response 'close'"), false, 'upstream response closed before it finished')
  t.same(await within(Promise.all(proxy.outcomes), 10_000, 'forward settled'), [undefined], 'forward resolved')
})

t.test('upstream failing after the headers were sent → client response cut, forward rejects', { timeout: 15_000 }, async (t) => {
  const { port } = await listen((_req, res) => {
    res.writeHead(200, { 'content-length': String(2 * MB) })
    res.write(CHUNK, () => setTimeout(() => res.destroy(), 50))
  })
  const proxy = await startProxy({ upstream: `http://127.0.0.1:${port}` })
  const cut = await within(
    new Promise<string>((resolve) => {
      request(`${proxy.url}/`, { agent: false }, (res) => {
        res.resume()
        res.on('end', () => resolve('complete'))
        res.on('error', () => resolve('cut')) // 'aborted' surfaces as an error on the response
      })
        .on('error', () => resolve('cut'))
        .end()
    }),
    10_000,
    'client response',
  )
  t.equal(cut, 'cut', 'client sees a failed response, not a short one')
  const [err] = await within(Promise.all(proxy.outcomes), 10_000, 'forward settled')
  t.equal((err as GatehouseError).code, 'GATEHOUSE_ERR_UPSTREAM_UNREACHABLE')
})

t.test('pool() after close() fails with 503', async (t) => {
  const upstreams = new Upstreams({ connectTimeoutMs: 100, headersTimeoutMs: 100, bodyTimeoutMs: 100 })
  t.equal(upstreams.pool('http://127.0.0.1:1'), upstreams.pool('http://127.0.0.1:1'), 'one pool per origin')
  await upstreams.close()
  t.throws(() => upstreams.pool('http://127.0.0.1:1'), { code: 'GATEHOUSE_ERR_UNAVAILABLE', status: 503 })
})
