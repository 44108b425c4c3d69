import type { TokenServerContext } from '../context.js'
import { clientGrantTypes } from '../client.js'
import type { GrantRegistry } from '../grants/index.js'
import type { Grant } from '../grants/types.js'
import { readForm, sendJson } from '../http/io.js'
import type { RouteContext } from '../http/router.js'
import { invalidRequest, unauthorizedClient } from '../oauth-error.js'
import { authenticateClient } from './client-auth.js'

/** RFC 6749 §5.1: token responses must not be cached. */
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

/**
 * `POST /oauth2/token`, as ordered steps: parse the form → authenticate the client → look the
 * grant type up in the registry (unsupported_grant_type when absent) → check this client may use
 * it → refuse repeated grant parameters → run the grant. Errors are JSON (the router's default
 * renderer), as RFC 6749 §5.2 requires of this endpoint.
 */
export function tokenEndpoint(ctx: TokenServerContext, grants: GrantRegistry) {
  return async ({ req, res }: RouteContext): Promise<void> => {
    const form = await readForm(req)
    const grantType = form.get('grant_type')
    if (grantType === null || grantType === '') throw invalidRequest('The request is missing the "grant_type" parameter.')
    const client = await authenticateClient(ctx, req, form, 'token')
    const grant = grants.get(grantType)
    if (!clientGrantTypes(client).includes(grantType)) {
      throw unauthorizedClient(`The client is not allowed to request a token using grant type '${grantType}'.`)
    }
    refuseRepeated(grant, form)
    sendJson(res, 200, await grant.handle(ctx, client, form), NO_STORE)
  }
}

/** RFC 6749 §3.2: request parameters must not be included more than once (a grant names its exceptions). */
function refuseRepeated(grant: Grant, form: URLSearchParams): void {
  for (const name of grant.parameters) {
    if (!grant.repeatable.has(name) && form.getAll(name).length > 1) {
      throw invalidRequest(`the parameter "${name}" is included more than once`)
    }
  }
}
