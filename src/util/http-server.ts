import { watch, type FSWatcher } from 'node:fs'
import { createServer as createHttpServerPlain, type RequestListener, type Server, type ServerOptions } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { basename, dirname, resolve } from 'node:path'
import type { Logger } from 'pino'
import { readTlsMaterial, tlsEnabled, tlsPaths, type TlsConfig, type TlsMaterial } from '../config/tls.js'
import { ConfigError } from '../errors.js'
import { graceful } from './graceful-close.js'

/** How to build one listening server (the gateway's proxy and API, the token server's two APIs). */
export interface HttpServerOptions {
  /** The `tls` block; plain HTTP when it sets neither cert nor key. */
  readonly tls?: TlsConfig | undefined
  /** The block's key path (`serve.proxy.tls`), named in problems and log lines. */
  readonly where: string
  readonly logger: Logger
  readonly options?: ServerOptions
}

/** A server, and what must be released with it. */
export interface HttpServer {
  /** An `https.Server` when TLS is configured (it is an `http.Server` too). */
  readonly server: Server
  readonly secure: boolean
  /** Shutdown has begun: every response from now on says `Connection: close`. */
  drain(): void
  /** Stops accepting, lets requests in flight finish within `graceMs`, then cuts the rest. */
  closeGracefully(graceMs: number): Promise<void>
  /** Stops watching the certificate files; the server itself is closed by its owner. */
  close(): void
}

/**
 * How often Node looks for requests past `headersTimeout` / `requestTimeout`. Its default is 30 s,
 * so a 5 s read timeout let a slow client (slowloris) hold a connection for up to 35 s; checked
 * every second, timeouts end within a second of being due. The check walks the open
 * connections in C++, which costs little even with thousands.
 */
const CHECK_TIMEOUTS_EVERY_MS = 1000

/** Several writes (cert, then key) usually land within this; one reload then sees both. */
const SETTLE_MS = 200

/**
 * Creates an HTTP or, with TLS configured, an HTTPS server. Certificate and key files are watched
 * and, when their content changes, put in force with `setSecureContext` (new connections get the
 * new certificate; open ones keep theirs). A new pair that cannot be used (unparsable, key not
 * matching) is logged with the reason and the pair in use stays. Throws a ConfigError when the
 * initial pair cannot be used, before anything listens.
 */
export function createHttpServer(opts: HttpServerOptions, handler: RequestListener): HttpServer {
  const { tls, where, logger } = opts
  const options: ServerOptions = { connectionsCheckingInterval: CHECK_TIMEOUTS_EVERY_MS, ...opts.options }
  if (!tlsEnabled(tls)) {
    const server = createHttpServerPlain(options, handler)
    const g = graceful(server, false)
    return { server, secure: false, drain: g.drain, closeGracefully: g.close, close() {} }
  }

  let material = readTlsMaterial(tls, where)
  const server = createHttpsServer({ ...options, cert: material.cert, key: material.key }, handler)

  const reload = (): void => {
    let next: TlsMaterial
    try {
      next = readTlsMaterial(tls, where)
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [String(err)]
      logger.error({ tls: where, problems }, 'TLS certificate not reloaded: the new files cannot be used; keeping the certificate in force')
      return
    }
    // Watchers also fire for writes of identical content (and for neighbours such as `..data`).
    if (next.cert.equals(material.cert) && next.key.equals(material.key)) return
    server.setSecureContext({ cert: next.cert, key: next.key })
    material = next
    logger.info({ tls: where, files: tlsPaths(tls) }, 'TLS certificate reloaded')
  }
  const stop = watchFiles(tlsPaths(tls), reload, (err) => logger.warn({ tls: where, err }, 'cannot watch the TLS files; changes will not be reloaded'))
  const g = graceful(server, true)
  return { server, secure: true, drain: g.drain, closeGracefully: g.close, close: stop }
}

/**
 * Calls `onChange` (debounced) after anything happens to one of `paths`. The parent directories
 * are watched, not the files: a file replaced by a rename (editors, `mv`, cert-manager, a
 * Kubernetes Secret's `..data` symlink swap) is a new inode that a watch on the old one never
 * reports. Returns the function that stops watching.
 */
function watchFiles(paths: readonly string[], onChange: () => void, onError: (err: Error) => void): () => void {
  const byDir = new Map<string, Set<string>>()
  for (const p of paths) {
    const abs = resolve(p)
    const names = byDir.get(dirname(abs)) ?? new Set<string>()
    names.add(basename(abs))
    byDir.set(dirname(abs), names)
  }
  let timer: NodeJS.Timeout | undefined
  const changed = (): void => {
    clearTimeout(timer)
    timer = setTimeout(onChange, SETTLE_MS)
    // A pending reload must not keep a stopping process alive.
    timer.unref()
  }
  const watchers: FSWatcher[] = []
  for (const [dir, names] of byDir) {
    try {
      // Not persistent: watching certificates is no reason for the process to stay up.
      const w = watch(dir, { persistent: false }, (_event, name) => {
        // `..data` and friends: Kubernetes swaps a Secret's files by renaming a hidden directory.
        if (name === null || names.has(name) || name.startsWith('..')) changed()
      })
      w.on('error', onError)
      watchers.push(w)
    } catch (err) {
      onError(err as Error)
    }
  }
  return () => {
    clearTimeout(timer)
    for (const w of watchers) w.close()
  }
}

/** Listens on `port` and `host` ('' for all interfaces); rejects on an error such as EADDRINUSE. */
export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host === '' ? undefined : host, () => {
      server.off('error', reject)
      resolve(server.address() as AddressInfo)
    })
  })
}
