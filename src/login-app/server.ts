/**
 * The built-in login app: Hydra's login, consent and logout pages for development and demos, an
 * ordinary client of the token server's admin API (it imports nothing of the token server but the
 * password hasher). A node:http server with a fixed table of routes; everything it needs (admin
 * client, users, CSRF key) is made once in createLoginApp.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseDuration } from '../config/duration.js'
import type { Logger } from '../observability/logger.js'
import { AdminApiError, createAdminApi, type AdminApi } from './admin-api.js'
import type { LoginAppConfig } from './config.js'
import type { AppContext } from './context.js'
import { getConsent, postConsent } from './consent.js'
import { createCsrf } from './csrf.js'
import { createDemo, DemoError } from './demo.js'
import { FormError } from './form.js'
import { redirect, sendError } from './html.js'
import { getLogin, postLogin } from './login.js'
import { getLogout, postLogout } from './logout.js'
import { loadUsers, type Users } from './users.js'

type Handler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void> | void

/** The login app's HTTP server. */
export interface LoginApp {
  /** Listens on `serve.host:serve.port`; resolves with the address. */
  start(): Promise<AddressInfo>
  close(): Promise<void>
  readonly server: Server
}

/** What createLoginApp takes beyond the config; tests pass their own users or admin client. */
export interface LoginAppDeps {
  readonly logger: Logger
  readonly users?: Users
  readonly admin?: AdminApi
}

/** Builds the app; reads the users file now, so a broken one stops the start (ConfigError). */
export function createLoginApp(config: LoginAppConfig, deps: LoginAppDeps): LoginApp {
  const ctx: AppContext = {
    config,
    admin: deps.admin ?? createAdminApi(config.urls.admin, config.admin.api_key),
    users: deps.users ?? loadUsers(config.users_file),
    csrf: createCsrf(),
    rememberFor: Math.floor(parseDuration(config.remember_for) / 1000),
    logger: deps.logger,
  }
  const demo = createDemo(ctx)
  const routes = new Map<string, Handler>([
    ['GET /', (req, res) => demo.home(req, res)],
    ['GET /login', (req, res, q) => getLogin(ctx, req, res, q)],
    ['POST /login', (req, res) => postLogin(ctx, req, res)],
    ['GET /consent', (req, res, q) => getConsent(ctx, req, res, q)],
    ['POST /consent', (req, res) => postConsent(ctx, req, res)],
    ['GET /logout', (req, res, q) => getLogout(ctx, req, res, q)],
    ['POST /logout', (req, res) => postLogout(ctx, req, res)],
    ['GET /demo/start', (req, res) => demo.start(req, res)],
    ['GET /callback', (req, res, q) => demo.callback(req, res, q)],
    ['GET /health/alive', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')],
  ])

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://login-app')
    const handler = routes.get(`${req.method === 'HEAD' ? 'GET' : req.method} ${url.pathname}`)
    if (handler === undefined) {
      req.resume()
      const known = [...routes.keys()].some((k) => k.endsWith(` ${url.pathname}`))
      return sendError(res, known ? 405 : 404, known ? 'This page does not take that method.' : 'There is no such page.')
    }
    Promise.resolve()
      .then(() => handler(req, res, url.searchParams))
      .catch((err: unknown) => failed(ctx, res, err))
  })

  return {
    server,
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject).listen(config.serve.port, config.serve.host, () => {
          server.off('error', reject)
          resolve(server.address() as AddressInfo)
        })
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** Turns a failure into a page for the person at the browser; the details go to the log, never the page. */
function failed(ctx: AppContext, res: ServerResponse, err: unknown): void {
  if (res.headersSent) return void res.destroy()
  if (err instanceof FormError) return sendError(res, err.status, err.message)
  if (err instanceof DemoError) return sendError(res, 502, err.message)
  if (err instanceof AdminApiError) {
    // Hydra's 410: this step was done already (a reload, the back button); the browser goes on.
    if (err.status === 410 && err.redirectTo !== undefined) return redirect(res, err.redirectTo)
    ctx.logger.warn({ status: err.status, reason: err.message }, 'admin API call failed')
    if (err.status === 404 || err.status === 410) return sendError(res, 404, 'This sign-in request is unknown or has expired. Start again from the application.')
    if (err.status === 401 || err.status === 403) return sendError(res, 502, 'The login app may not use the token server\'s admin API (check admin.api_key).')
    return sendError(res, 502, 'The token server could not be reached or refused the request. Try again.')
  }
  ctx.logger.error({ err }, 'login app request failed')
  sendError(res, 500, 'The login app failed. Try again.')
}
