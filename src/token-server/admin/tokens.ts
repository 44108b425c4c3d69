import type { TokenServerContext } from '../context.js'
import { sendEmpty } from '../http/io.js'
import type { RouteContext } from '../http/router.js'
import { invalidRequest } from '../oauth-error.js'

/** `DELETE /admin/oauth2/tokens?client_id=`: revokes every access token of a client (Hydra). */
export function deleteTokensEndpoint(ctx: TokenServerContext) {
  return async ({ res, query }: RouteContext): Promise<void> => {
    const clientId = query.get('client_id')
    if (clientId === null || clientId === '') throw invalidRequest('The "client_id" query parameter is required.')
    const n = await ctx.store.deleteTokensOfClient(clientId)
    ctx.metrics.revocations.inc({ via: 'admin_delete_tokens' }, n)
    await ctx.feed.publish({ type: 'client', client_id: clientId })
    ctx.logger.info({ client_id: clientId, tokens: n }, 'access tokens of client revoked')
    sendEmpty(res, 204)
  }
}
