import type { TokenServerContext } from '../context.js'
import { clientGrantTypes } from '../client.js'
import { clientCredentials } from '../grants/client-credentials.js'
import type { Grant } from '../grants/types.js'
import { readForm, sendJson } from '../http/io.js'
import type { RouteContext } from '../http/router.js'
import { invalidRequest, unauthorizedClient, unsupportedGrantType } from '../oauth-error.js'
import { authenticateClient } from './client-auth.js'

const GRANTS: ReadonlyMap<string, Grant> = new Map([[clientCredentials.grantType, clientCredentials]])

/** Grant types this server can perform (discovery lists them). */
export const SUPPORTED_GRANTS: readonly string[] = [...GRANTS.keys()]

/** RFC 6749 §5.1: token responses must not be cached. */
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

/**
 * `POST /oauth2/token`, as ordered steps: parse the form → authenticate the client → check the
 * grant type is known and allowed for this client → run the grant.
 */
export function tokenEndpoint(ctx: TokenServerContext) {
  return async ({ req, res }: RouteContext): Promise<void> => {
    const form = await readForm(req)
    const grantType = form.get('grant_type')
    if (grantType === null || grantType === '') throw invalidRequest('The request is missing the "grant_type" parameter.')
    const client = await authenticateClient(ctx, req, form, 'token')
    const grant = GRANTS.get(grantType)
    if (grant === undefined) throw unsupportedGrantType(`The authorization grant type '${grantType}' is not supported by the authorization server.`)
    if (!clientGrantTypes(client).includes(grantType)) {
      throw unauthorizedClient(`The client is not allowed to request a token using grant type '${grantType}'.`)
    }
    sendJson(res, 200, await grant.handle(ctx, client, form), NO_STORE)
  }
}
