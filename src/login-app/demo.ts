/**
 * The demo client's pages, so `npm start` shows the whole flow in a browser: `/` has a sign-in
 * button, `/demo/start` sends the browser to the token server's authorization endpoint (a public
 * client with PKCE, `state` and `nonce`), `/callback` exchanges the code and shows the tokens and
 * the ID token's claims, after checking its signature, issuer, audience and nonce. Without
 * `demo.client_id`, `/callback` only shows what it received (e.g. for a client of your own).
 */
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { parse as parseCookies, serialize } from 'cookie'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { request } from 'undici'
import { withSlash } from './config.js'
import type { AppContext } from './context.js'
import { html, redirect, sendError, sendPage } from './html.js'

const DEMO_COOKIE = 'gatehouse_demo_flow'

interface Discovery {
  readonly issuer: string
  readonly authorization_endpoint: string
  readonly token_endpoint: string
  readonly jwks_uri: string
}

/** One flow in progress, kept in the browser's HttpOnly cookie between start and callback. */
interface Pending {
  readonly state: string
  readonly nonce: string
  readonly verifier: string
}

/** The demo client's three pages. */
export interface Demo {
  home(req: IncomingMessage, res: ServerResponse): void
  start(req: IncomingMessage, res: ServerResponse): Promise<void>
  callback(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void>
}

/** Prepares the demo pages once: redirect URI, discovery URL, a JWKS cache per `jwks_uri`. */
export function createDemo(ctx: AppContext): Demo {
  const { client_id: clientId, scope } = ctx.config.demo
  const redirectUri = new URL('callback', withSlash(ctx.config.urls.self)).href
  const discoveryUrl = new URL('.well-known/openid-configuration', withSlash(ctx.config.urls.public))
  const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>()

  async function discover(): Promise<Discovery> {
    const res = await request(discoveryUrl, { headersTimeout: 10_000, bodyTimeout: 10_000 })
    let doc: Partial<Discovery> | undefined
    if (res.statusCode === 200) doc = (await res.body.json().catch(() => undefined)) as Partial<Discovery> | undefined
    else await res.body.dump()
    for (const key of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
      if (typeof doc?.[key] !== 'string') throw new DemoError(`The token server's discovery document (${discoveryUrl.href}) does not name its ${key}: it does not offer the authorization code flow.`)
    }
    return doc as Discovery
  }

  return {
    home(_req, res) {
      sendPage(
        res,
        200,
        'Gatehouse login app',
        html`<h1>Gatehouse login app</h1>
<p>The token server's login, consent and logout pages, for development and demos.</p>
${clientId === '' ? '' : html`<form method="get" action="/demo/start"><button type="submit">Sign in with ${clientId}</button></form>
<p class="muted">Runs the authorization code flow with PKCE as the demo client and shows the tokens it gets.</p>`}`,
      )
    },

    async start(_req, res) {
      if (clientId === '') return sendError(res, 404, 'No demo client is configured.')
      const pending: Pending = { state: random(), nonce: random(), verifier: random() }
      const auth = new URL((await discover()).authorization_endpoint)
      const challenge = createHash('sha256').update(pending.verifier).digest('base64url')
      for (const [k, v] of Object.entries({
        response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope,
        state: pending.state, nonce: pending.nonce, code_challenge: challenge, code_challenge_method: 'S256',
      })) auth.searchParams.set(k, v)
      res.appendHeader('set-cookie', serialize(DEMO_COOKIE, Buffer.from(JSON.stringify(pending)).toString('base64url'), { httpOnly: true, sameSite: 'lax', path: '/callback', maxAge: 600 }))
      redirect(res, auth.href)
    },

    async callback(req, res, query) {
      const received = [...query.entries()]
      const error = query.get('error')
      if (clientId === '' || error !== null) {
        return sendPage(res, error === null ? 200 : 400, 'Callback', html`<h1>${error === null ? 'Callback' : 'The authorization failed'}</h1>
<pre>${received.map(([k, v]) => `${k} = ${v}\n`)}</pre>`)
      }
      const pending = readPending(req)
      if (pending === undefined || query.get('state') !== pending.state) {
        return sendError(res, 400, 'This callback does not belong to a sign-in started here (state does not match): start again from the home page.')
      }
      const meta = await discover()
      const body = new URLSearchParams({ grant_type: 'authorization_code', code: query.get('code') ?? '', redirect_uri: redirectUri, client_id: clientId, code_verifier: pending.verifier })
      const tokenRes = await request(meta.token_endpoint, {
        method: 'POST', body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        headersTimeout: 10_000, bodyTimeout: 10_000,
      })
      const tokens = (await tokenRes.body.json()) as Record<string, unknown>
      // Used once: a reload of the callback must not look like a second valid sign-in.
      res.appendHeader('set-cookie', serialize(DEMO_COOKIE, '', { httpOnly: true, sameSite: 'lax', path: '/callback', maxAge: 0 }))
      if (tokenRes.statusCode !== 200) {
        return sendPage(res, 502, 'Token exchange failed', html`<h1>The token endpoint refused the code</h1><pre>${JSON.stringify(tokens, null, 2)}</pre>`)
      }
      let claims: unknown = undefined
      let problem: string | undefined
      if (typeof tokens.id_token === 'string') {
        let jwks = keySets.get(meta.jwks_uri)
        if (jwks === undefined) keySets.set(meta.jwks_uri, (jwks = createRemoteJWKSet(new URL(meta.jwks_uri))))
        try {
          const { payload } = await jwtVerify(tokens.id_token, jwks, { issuer: meta.issuer, audience: clientId })
          if (payload.nonce !== pending.nonce) throw new Error('the nonce is not the one sent')
          claims = payload
        } catch (err) {
          problem = `The ID token is not valid: ${(err as Error).message}`
        }
      }
      sendPage(res, problem === undefined ? 200 : 502, 'Signed in', html`<h1>${problem === undefined ? 'Signed in' : 'Signed in, but…'}</h1>
${problem === undefined ? '' : html`<p class="error">${problem}</p>`}
${claims === undefined ? '' : html`<p>The ID token's claims (signature, issuer, audience and nonce checked):</p><pre id="claims">${JSON.stringify(claims, null, 2)}</pre>`}
<p>The token endpoint's answer:</p><pre id="tokens">${JSON.stringify(tokens, null, 2)}</pre>
<p><a href="/">Home</a></p>`)
    },
  }
}

/** The demo cannot go on; the message is for the person at the browser (shown as a 502 page). */
export class DemoError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DemoError'
  }
}

function random(): string {
  return randomBytes(32).toString('base64url')
}

function readPending(req: IncomingMessage): Pending | undefined {
  const raw = parseCookies(req.headers.cookie ?? '')[DEMO_COOKIE]
  if (raw === undefined || raw === '') return undefined
  try {
    const p = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Pending>
    return typeof p.state === 'string' && typeof p.nonce === 'string' && typeof p.verifier === 'string' ? (p as Pending) : undefined
  } catch {
    return undefined
  }
}
