import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

/** How the double's authorization endpoint answers. */
export type AuthorizeMode = 'code' | 'wrong-state' | 'access_denied' | 'form_post'

/** A token request as the double received it. */
export interface SeenTokenRequest {
  readonly form: URLSearchParams
  readonly authorization: string | undefined
}

export interface AuthorizationServerDouble {
  readonly url: string
  /** Query of every authorization request. */
  readonly authorizations: URLSearchParams[]
  readonly tokenRequests: SeenTokenRequest[]
  authorize: AuthorizeMode
  /** `invalid_grant`: the token endpoint refuses every code. */
  token: 'ok' | 'invalid_grant'
  /** Where `/relay` sends the browser on, with the query it got. */
  relayTo: string
  close(): Promise<void>
}

export const ACCESS_DENIED = 'The resource owner or authorization server denied the request.'
export const INVALID_GRANT =
  'The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.'

/**
 * A small stand-in for the token server's authorization and token endpoints (on 127.0.0.1:0):
 * /oauth2/auth redirects to the redirect URI with a code and the state it was given (or an
 * error, or another state, or a form_post page), remembering the PKCE challenge; /oauth2/token
 * answers tokens only for a known, unused code whose verifier hashes to that challenge, sent
 * with the same redirect URI by the client the code was issued to. `/relay` redirects to
 * `relayTo` with the query it got (a redirect URI on another host).
 */
export async function startAuthorizationServerDouble(): Promise<AuthorizationServerDouble> {
  const codes = new Map<string, { challenge: string; redirectUri: string; clientId: string; scope: string }>()
  let issued = 0
  const double: AuthorizationServerDouble = {
    url: '',
    authorizations: [],
    tokenRequests: [],
    authorize: 'code',
    token: 'ok',
    relayTo: '',
    close: () => new Promise((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }

  const authorize = (q: URLSearchParams, res: ServerResponse): void => {
    double.authorizations.push(q)
    const redirectUri = q.get('redirect_uri') ?? ''
    if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || redirectUri === '') {
      return json(res, 400, { error: 'invalid_request', error_description: 'double: response_type code, PKCE S256 and redirect_uri are required' })
    }
    const code = `code-${++issued}`
    codes.set(code, { challenge: q.get('code_challenge') ?? '', redirectUri, clientId: q.get('client_id') ?? '', scope: q.get('scope') ?? '' })
    const back = new URL(redirectUri)
    const state = q.get('state') ?? ''
    if (double.authorize === 'access_denied') {
      back.searchParams.set('error', 'access_denied')
      back.searchParams.set('error_description', ACCESS_DENIED)
      back.searchParams.set('state', state)
    } else {
      back.searchParams.set('code', code)
      back.searchParams.set('state', double.authorize === 'wrong-state' ? 'not-the-state' : state)
    }
    if (double.authorize === 'form_post') {
      const inputs = [...back.searchParams].map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`).join('')
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<form method="post" action="${redirectUri}">${inputs}</form>`)
      return
    }
    res.writeHead(302, { location: back.href }).end()
  }

  const token = (form: URLSearchParams, authorization: string | undefined, res: ServerResponse): void => {
    double.tokenRequests.push({ form, authorization })
    const code = form.get('code') ?? ''
    const grant = codes.get(code)
    codes.delete(code)
    // RFC 6749 §2.3.1: the id is form-urlencoded before it is joined to the secret with ':'.
    const basicId = authorization?.startsWith('Basic ') ? Buffer.from(authorization.slice(6), 'base64').toString().split(':')[0]! : undefined
    const clientId = basicId === undefined ? form.get('client_id') : decodeURIComponent(basicId.replace(/\+/g, ' '))
    const verifier = form.get('code_verifier') ?? ''
    const ok =
      double.token === 'ok' &&
      grant !== undefined &&
      form.get('grant_type') === 'authorization_code' &&
      grant.redirectUri === form.get('redirect_uri') &&
      grant.clientId === clientId &&
      createHash('sha256').update(verifier).digest('base64url') === grant.challenge
    if (!ok) return json(res, 400, { error: 'invalid_grant', error_description: INVALID_GRANT })
    json(res, 200, {
      access_token: `ory_at_${code}.sig`,
      refresh_token: `ory_rt_${code}.sig`,
      id_token: `id.${code}.token`,
      token_type: 'bearer',
      expires_in: 3599,
      scope: grant.scope,
    })
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://double')
    if (req.method === 'GET' && url.pathname === '/oauth2/auth') return authorize(url.searchParams, res)
    if (req.method === 'GET' && url.pathname === '/relay') {
      const to = new URL(double.relayTo)
      to.search = url.search
      return void res.writeHead(302, { location: to.href }).end()
    }
    if (req.method === 'POST' && url.pathname === '/oauth2/token') {
      void body(req).then((b) => token(new URLSearchParams(b), req.headers.authorization, res))
      return
    }
    json(res, 404, { error: 'not_found' })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  ;(double as { url: string }).url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
  return double
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

async function body(req: IncomingMessage): Promise<string> {
  let s = ''
  for await (const chunk of req as AsyncIterable<Buffer>) s += chunk.toString()
  return s
}
