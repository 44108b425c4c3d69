import { connect, type Socket } from 'node:net'

/** One HTTP/1.1 response as it came off the wire. */
export interface RawResponse {
  readonly status: number
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** What a raw exchange produced. */
export interface RawExchange {
  /** Every complete response, in order (pipelined requests get several). */
  readonly responses: readonly RawResponse[]
  /** The first response's status, or undefined when none came. */
  readonly status: number | undefined
  /** Everything received, latin1-decoded. */
  readonly raw: string
  /** True when the server closed the connection (rather than our own time limit ending it). */
  readonly closedByServer: boolean
  /** Milliseconds from connecting until the end of the exchange. */
  readonly ms: number
}

export interface RawOptions {
  /**
   * Give up (and close) after this long; default 20 s. It only bounds a server that never answers
   * or closes, so it is generous: a busy machine's late answer must not read as none.
   */
  readonly timeoutMs?: number
  /** Resolve once this many complete responses arrived, without waiting for the close. */
  readonly responses?: number
  /**
   * Send the data in these pieces, one every `delayMs` (slow clients). Default: all at once.
   * Writing stops when the server closes the connection.
   */
  readonly pieces?: readonly (string | Buffer)[]
  readonly delayMs?: number
}

/**
 * Sends bytes exactly as given over a plain TCP connection (HTTP clients would normalise the
 * request line, refuse conflicting headers or fix the Host) and collects what comes back until
 * the server closes, `responses` complete answers arrived, or the time limit.
 */
export function rawExchange(port: number, data: string | Buffer, opts: RawOptions = {}): Promise<RawExchange> {
  const started = Date.now()
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let done = false
    let writer: NodeJS.Timeout | undefined
    const finish = (closedByServer: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      clearInterval(writer)
      socket.destroy()
      const raw = Buffer.concat(chunks).toString('latin1')
      const responses = parseResponses(raw)
      resolve({ responses, status: responses[0]?.status ?? statusLine(raw), raw, closedByServer, ms: Date.now() - started })
    }
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 20_000)
    socket.on('data', (d: Buffer) => {
      chunks.push(d)
      if (opts.responses !== undefined && parseResponses(Buffer.concat(chunks).toString('latin1')).length >= opts.responses) finish(false)
    })
    socket.on('close', () => finish(true))
    // ECONNRESET after the server gave up on us is an answer too; 'close' follows.
    socket.on('error', () => {})
    socket.on('connect', () => {
      const pieces = opts.pieces
      if (pieces === undefined) {
        socket.write(data)
        return
      }
      let i = 0
      writer = setInterval(() => {
        if (socket.destroyed || socket.writableEnded) return clearInterval(writer)
        if (i >= pieces.length) return clearInterval(writer)
        socket.write(pieces[i++]!)
      }, opts.delayMs ?? 50)
    })
  })
}

/** The status of a lone status line (e.g. Node's `HTTP/1.1 400 Bad Request` with nothing after). */
function statusLine(raw: string): number | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw)
  return m === null ? undefined : Number(m[1])
}

/** Splits a byte stream into complete responses (Content-Length or chunked bodies). */
export function parseResponses(raw: string): RawResponse[] {
  const out: RawResponse[] = []
  let at = 0
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at)
    if (headEnd === -1) break
    const lines = raw.slice(at, headEnd).split('\r\n')
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')
    if (m === null) break
    const headers: Record<string, string> = {}
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      if (colon === -1) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    let bodyStart = headEnd + 4
    let body: string
    const status = Number(m[1])
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
      body = ''
    } else if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      body = ''
      let p = bodyStart
      for (;;) {
        const lineEnd = raw.indexOf('\r\n', p)
        if (lineEnd === -1) return out
        const size = parseInt(raw.slice(p, lineEnd), 16)
        if (Number.isNaN(size)) return out
        p = lineEnd + 2
        if (size === 0) {
          const trailerEnd = raw.indexOf('\r\n', p)
          if (trailerEnd === -1) return out
          p = trailerEnd + 2
          break
        }
        if (p + size + 2 > raw.length) return out
        body += raw.slice(p, p + size)
        p += size + 2
      }
      bodyStart = p
      out.push({ status, headers, body })
      at = bodyStart
      continue
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length'])
      if (bodyStart + n > raw.length) break
      body = raw.slice(bodyStart, bodyStart + n)
      bodyStart += n
    } else {
      // Delimited by the close: whatever is there.
      body = raw.slice(bodyStart)
      bodyStart = raw.length
    }
    out.push({ status, headers, body })
    at = bodyStart
  }
  return out
}

/**
 * One plain TCP connection for exchanges in sequence (keep-alive). `sent` (of each request)
 * resolves once its bytes are in the kernel: on loopback, at the server's socket before any
 * signal sent afterwards arrives, which is what the shutdown tests need to be deterministic.
 */
export interface RawConnection {
  /** Resolves once connected (the server's kernel has accepted the connection). */
  readonly connected: Promise<void>
  /** Sends one request; `response` resolves with the next complete response (or rejects on close). */
  request(data: string): { sent: Promise<void>; response: Promise<RawResponse> }
  /** Resolves when the server ends or resets the connection. */
  readonly closed: Promise<void>
  destroy(): void
}

export function rawConnection(port: number): RawConnection {
  const socket = connect(port, '127.0.0.1')
  let buffered = ''
  let seen = 0
  const waiting: { resolve(r: RawResponse): void; reject(e: Error): void }[] = []
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  let failure = ''
  socket.on('error', (err: NodeJS.ErrnoException) => (failure = ` (${err.code ?? err.message})`))
  socket.on('data', (d: Buffer) => {
    buffered += d.toString('latin1')
    const all = parseResponses(buffered)
    while (all.length > seen && waiting.length > 0) waiting.shift()!.resolve(all[seen++]!)
  })
  void closed.then(() => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the server closed the connection before answering${failure}`))
  })
  return {
    connected,
    closed,
    request(data) {
      const response = new Promise<RawResponse>((resolve, reject) => waiting.push({ resolve, reject }))
      const sent = connected.then(
        () => new Promise<void>((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve()))),
      )
      return { sent, response }
    },
    destroy: () => socket.destroy(),
  }
}
