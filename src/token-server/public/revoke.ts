import type { TokenServerContext } from '../context.js'
import { readForm, sendEmpty } from '../http/io.js'
import type { RouteContext } from '../http/router.js'
import { invalidRequest, unauthorizedClient } from '../oauth-error.js'
import { revokeGrant } from '../oidc/issue/revoke-grant.js'
import { authenticateClient } from './client-auth.js'

/**
 * `POST /oauth2/revoke` (RFC 7009): the authenticated client revokes one of its own tokens, and
 * with it every token of the same grant (§2.1 lets the server revoke the grant; fosite, Hydra's
 * core, revokes the access and refresh tokens of the token's request id). Each revoked token is
 * announced to gateways. An unknown, expired or malformed token is answered 200 as well (§2.2),
 * so the endpoint cannot be used to probe for valid tokens; a token of another client is
 * refused (§2.1).
 */
export function revokeEndpoint(ctx: TokenServerContext) {
  return async ({ req, res }: RouteContext): Promise<void> => {
    const form = await readForm(req)
    const token = form.get('token')
    if (token === null || token === '') throw invalidRequest('The request is missing the "token" parameter.')
    const client = await authenticateClient(ctx, req, form, 'revoke')
    const hash = await ctx.tokens.signatureHashOf(token)
    const record = hash === undefined ? undefined : await ctx.store.getToken(hash)
    if (record !== undefined) {
      if (record.client_id !== client.client_id) {
        throw unauthorizedClient('The OAuth 2.0 Client is not allowed to revoke a token that was issued to another client.')
      }
      const revoked = await revokeGrant(ctx, record.grant_id, 'revoke_endpoint')
      ctx.logger.info({ client_id: client.client_id, tokens: revoked }, 'grant revoked')
    }
    sendEmpty(res, 200, { 'cache-control': 'no-store' })
  }
}
