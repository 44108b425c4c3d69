import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { CliError } from '../errors.js'
import { errorPage, welcomePage } from './pages.js'

/** A page to answer with, and what to do once the answer is out (e.g. shut down); or a redirect. */
export type Reply =
  | { readonly status: number; readonly html: string; readonly afterSent?: (() => void) | undefined }
  | { readonly redirect: string }

/** What the routes of the local server do; the flow logic lives with the caller. */
export interface CallbackRoutes {
  /** The current flow's authorization URL: the welcome page links to it, /perform-flow redirects to it. */
  authorizationUrl(): string
  /** The browser came back from the authorization server with these parameters (query or form_post body). */
  callback(params: URLSearchParams): Promise<Reply>
}

export interface CallbackServerOptions {
  readonly port: number
  /** `--https`: serve TLS with this key and certificate. */
  readonly tls?: { readonly key: string; readonly cert: string } | undefined
  /** Where the redirect URI points on this server; /callback is always served too. */
  readonly callbackPath: string
  readonly routes: CallbackRoutes
}

export interface CallbackServer {
  /** e.g. `http://127.0.0.1:4446/`, with the port actually bound (`--port 0` picks a free one). */
  readonly location: string
  /** Stops listening and drops open connections (a browser's keep-alive would hold it open). */
  close(): Promise<void>
}

/** A form_post answer holds a code, a state and perhaps an error text: 64 KiB is plenty. */
const MAX_FORM_BYTES = 64 * 1024

/**
 * The example client's web server on 127.0.0.1, as Hydra's CLI has it: `/` (a welcome page with
 * the authorization link), `/perform-flow` (302 to the authorization URL) and the callback, by
 * GET (response_mode query) or POST (form_post). Only loopback: the callback carries a code.
 */
export async function startCallbackServer(opts: CallbackServerOptions): Promise<CallbackServer> {
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    route(opts, req)
      .then((reply) => send(res, reply))
      .catch((err: unknown) => send(res, { status: 500, html: errorPage({ name: 'Internal error', description: String(err) }) }))
  }
  const server: Server = opts.tls === undefined ? createHttpServer(handler) : createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler)
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new CliError(`cannot listen on 127.0.0.1:${opts.port}: the port is in use; choose another with --port`) : new CliError(`cannot listen on 127.0.0.1:${opts.port}: ${err.message}`)),
    )
    server.listen(opts.port, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as { port: number }).port
  return {
    location: `${opts.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

async function route(opts: CallbackServerOptions, req: IncomingMessage): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  const path = url.pathname
  if (path === opts.callbackPath || path === '/callback') {
    if (req.method === 'GET') return opts.routes.callback(url.searchParams)
    if (req.method === 'POST') return opts.routes.callback(await readForm(req))
    return { status: 405, html: errorPage({ name: 'Method not allowed' }) }
  }
  if (req.method !== 'GET') return { status: 405, html: errorPage({ name: 'Method not allowed' }) }
  if (path === '/') return { status: 200, html: welcomePage(opts.routes.authorizationUrl()) }
  if (path === '/perform-flow') return { redirect: opts.routes.authorizationUrl() }
  return { status: 404, html: errorPage({ name: 'Not found' }) }
}

function send(res: ServerResponse, reply: Reply): void {
  if ('redirect' in reply) {
    res.writeHead(302, { location: reply.redirect, 'content-length': 0 }).end()
    return
  }
  // 'close' rather than 'finish': it also comes when the browser went away before the end.
  if (reply.afterSent !== undefined) res.once('close', reply.afterSent)
  const body = Buffer.from(reply.html)
  // no-store: the result page shows tokens.
  res.writeHead(reply.status, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' }).end(body)
}

/** An application/x-www-form-urlencoded body (response_mode=form_post, OAuth 2.0 Form Post Response Mode). */
async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_FORM_BYTES) return new URLSearchParams({ error: 'invalid_request', error_description: 'the form_post body is too large' })
    chunks.push(chunk)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}
