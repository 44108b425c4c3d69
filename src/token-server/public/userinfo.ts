import { randomUUID } from 'node:crypto'
import type { TokenServerContext } from '../context.js'
import { readForm, sendJson } from '../http/io.js'
import type { RouteContext } from '../http/router.js'
import { OAuthError } from '../oauth-error.js'
import { loadGrantState } from '../oidc/issue/grant-state.js'
import { sessionClaims, signUserinfo } from '../oidc/issue/id-token.js'

/** fosite's answer to a token that is not an active access token of ours. */
const UNAUTHORIZED = 'The request could not be authorized. Check that you provided valid credentials in the right format.'
const NOT_ACCESS = 'Only access tokens are allowed in the authorization header.'
/** ID-token-only claims userinfo leaves out, as Hydra's handler deletes them. */
const ID_TOKEN_ONLY = ['nonce', 'at_hash', 'c_hash', 'exp', 'sid', 'jti']

/** 401 with the error repeated in `WWW-Authenticate: Bearer …` (RFC 6750 §3), as Hydra answers. */
const unauthorized = (error: string, description: string): OAuthError =>
  new OAuthError(401, error, description, { 'www-authenticate': `Bearer error="${error}",error_description="${description}"` })

/**
 * `GET|POST /userinfo` (OpenID Connect Core §5.3), as Hydra's: the bearer access token (the
 * Authorization header, or `access_token` in a POST form, RFC 6750 §2.1-2.2) must be active; the
 * answer is the grant's ID token claims as consent left them (`sub`, `iss`, `aud`, `auth_time`,
 * `rat`, `acr`, `amr`, `session.id_token` …) without the ID-token-only ones. A client registered
 * with `userinfo_signed_response_alg: RS256` gets them as a JWT signed with the ID token key.
 * Beyond Hydra, a token in the query string (RFC 6750 §2.3, "SHOULD NOT") is not read.
 */
export function userinfoEndpoint(ctx: TokenServerContext) {
  return async ({ req, res }: RouteContext): Promise<void> => {
    const token = bearer(req.headers.authorization) ?? (req.method === 'POST' ? ((await readForm(req)).get('access_token') ?? '') : '')
    const record = token === '' ? undefined : await ctx.tokens.resolve(token)
    if (record === undefined) throw unauthorized('request_unauthorized', UNAUTHORIZED)
    // A refresh token is ours and valid, but not for this: Hydra says so.
    if (record.token_use !== 'access_token') throw unauthorized('invalid_token', NOT_ACCESS)
    const client = await ctx.store.getClient(record.client_id)
    if (client === undefined) throw unauthorized('request_unauthorized', UNAUTHORIZED)
    const state = await loadGrantState(ctx.store.oidc, record.grant_id, Math.floor(Date.now() / 1000))
    // A token of no end user (client credentials) has no ID token claims: Hydra answers its audience only.
    const claims: Record<string, unknown> = state === undefined ? { aud: [client.client_id] } : sessionClaims(state, ctx.issuer)
    for (const k of ID_TOKEN_ONLY) delete claims[k]
    const alg = typeof client.data.userinfo_signed_response_alg === 'string' ? client.data.userinfo_signed_response_alg : ''
    if (alg === 'RS256') {
      claims.jti = randomUUID()
      claims.iat = Math.floor(Date.now() / 1000)
      const jwt = await signUserinfo(ctx.keys, claims)
      res.writeHead(200, { 'content-type': 'application/jwt', 'content-length': Buffer.byteLength(jwt), 'cache-control': 'no-store' })
      res.end(jwt)
      return
    }
    if (alg !== '' && alg !== 'none') {
      throw new OAuthError(500, 'server_error', `The authorization server encountered an unexpected condition that prevented it from fulfilling the request. Unsupported userinfo signing algorithm '${alg}'.`)
    }
    sendJson(res, 200, claims, { 'cache-control': 'no-store' })
  }
}

/** The token of `Authorization: Bearer <token>`, or undefined when there is no such header. */
function bearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const space = header.indexOf(' ')
  if (space === -1 || header.slice(0, space).toLowerCase() !== 'bearer') return undefined
  return header.slice(space + 1).trim()
}
