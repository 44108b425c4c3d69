/**
 * A test double of the part of Hydra's admin API a login app uses (login/consent/logout requests,
 * accept, reject), answering Hydra-shaped JSON and recording every PUT body. It also plays the
 * token server's browser side, so a real browser can click through: the `redirect_to` of a login
 * accept leads to `/oauth2/auth?login_verifier=…`, which sends the browser to the app's consent
 * page for the consent chained to that login; a consent accept's leads to `/done`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { OAuth2ConsentRequest, OAuth2LoginRequest, OAuth2LogoutRequest } from '@ory/hydra-client'

export interface Call {
  readonly method: string
  readonly flow: 'login' | 'consent' | 'logout'
  readonly action: 'get' | 'accept' | 'reject'
  readonly challenge: string
  readonly body: unknown
  readonly authorization: string | undefined
}

interface Entry<T> {
  readonly request: T
  handled: boolean
  /** For a login: the consent challenge the browser goes to after it. */
  readonly next?: string
}

export interface AdminDouble {
  readonly url: string
  readonly calls: Call[]
  /** Where the double sends browsers for consent (the app's URL), set once the app listens. */
  appUrl: string
  login(request: Partial<OAuth2LoginRequest> & { challenge: string }, nextConsent?: string): void
  consent(request: Partial<OAuth2ConsentRequest> & { challenge: string }): void
  logout(request: OAuth2LogoutRequest & { challenge: string }): void
  /** The PUT calls (accept, reject), in order. */
  puts(): Call[]
  close(): Promise<void>
}

const CLIENT = { client_id: 'demo-app', client_name: 'Demo App' }

export async function startAdminDouble(): Promise<AdminDouble> {
  const logins = new Map<string, Entry<OAuth2LoginRequest>>()
  const consents = new Map<string, Entry<OAuth2ConsentRequest>>()
  const logouts = new Map<string, Entry<OAuth2LogoutRequest>>()
  const calls: Call[] = []
  const tables = { login: logins, consent: consents, logout: logouts } as const

  const server = createServer((req, res) => {
    readBody(req).then((text) => answer(req, res, text)).catch((err: Error) => json(res, 500, { error: 'server_error', error_description: err.message }))
  })

  function answer(req: IncomingMessage, res: ServerResponse, text: string): void {
    const url = new URL(req.url ?? '/', double.url)
    const m = /^\/admin\/oauth2\/auth\/requests\/(login|consent|logout)(?:\/(accept|reject))?$/.exec(url.pathname)
    if (m !== null) {
      const flow = m[1] as Call['flow']
      const action = (m[2] ?? 'get') as Call['action']
      const challenge = url.searchParams.get(`${flow}_challenge`) ?? ''
      const body = text === '' ? undefined : (JSON.parse(text) as unknown)
      calls.push({ method: req.method ?? '', flow, action, challenge, body, authorization: req.headers.authorization })
      const entry = (tables[flow] as Map<string, Entry<unknown>>).get(challenge)
      if (entry === undefined) return json(res, 404, { error: 'Not Found', error_description: 'Unable to locate the resource' })
      if (entry.handled) return json(res, 410, { redirect_to: `${double.url}/already-handled?${flow}_challenge=${challenge}` })
      if (action === 'get') return req.method === 'GET' ? json(res, 200, entry.request) : json(res, 405, {})
      if (req.method !== 'PUT') return json(res, 405, {})
      entry.handled = true
      if (flow === 'logout' && action === 'reject') return void res.writeHead(204).end()
      const to = action === 'reject' ? `${double.url}/rejected?flow=${flow}` : `${double.url}/oauth2/auth?${flow}_verifier=${challenge}`
      return json(res, 200, { redirect_to: to })
    }
    // The token server's side of the browser's journey.
    if (url.pathname === '/oauth2/auth') {
      const login = url.searchParams.get('login_verifier')
      const next = login === null ? undefined : logins.get(login)?.next
      if (next !== undefined) return void res.writeHead(302, { location: `${double.appUrl}/consent?consent_challenge=${next}` }).end()
      return void res.writeHead(302, { location: `${double.url}/done` }).end()
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>${url.pathname.slice(1)}</title><h1 id="where">${url.pathname.slice(1)}</h1>`)
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const double: AdminDouble = {
    url: `http://127.0.0.1:${port}`,
    calls,
    appUrl: '',
    login(r, next) {
      logins.set(r.challenge, {
        request: { client: CLIENT, request_url: `${double.url}/oauth2/auth?client_id=demo-app`, requested_scope: ['openid'], requested_access_token_audience: [], skip: false, subject: '', ...r },
        handled: false,
        ...(next === undefined ? {} : { next }),
      })
    },
    consent(r) {
      consents.set(r.challenge, { request: { client: CLIENT, requested_scope: ['openid'], requested_access_token_audience: [], skip: false, subject: 'foo@bar.com', ...r }, handled: false })
    },
    logout(r) {
      logouts.set(r.challenge, { request: r, handled: false })
    },
    puts: () => calls.filter((c) => c.method === 'PUT'),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  return double
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => (text += d))
    req.on('end', () => resolve(text))
    req.on('error', reject)
  })
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}
