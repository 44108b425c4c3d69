import { clientCredentialsLifespan, clientList, clientScopes } from '../client.js'
import { checkAudience } from '../audience.js'
import { invalidScope, OAuthError } from '../oauth-error.js'
import { allScopesGranted, splitScope } from '../../scope.js'
import type { Grant } from './types.js'

/**
 * RFC 6749 §4.4. The token's subject is the client itself. Requested scopes must be granted by
 * the client's scope under the configured strategy; requested audiences must each be allowed by
 * one of the client's (fosite's URL-prefix matching, see audience.ts). Nothing requested → a
 * token with no scope and no audience, as Hydra issues it.
 */
export const clientCredentials: Grant = {
  grantType: 'client_credentials',
  parameters: new Set(['scope', 'audience']),
  repeatable: new Set(['audience']),
  async handle(ctx, client, form) {
    if (client.secret_hash === null) {
      throw new OAuthError(400, 'invalid_grant', 'The client is public and thus not allowed to use grant type client_credentials.')
    }
    const requested = splitScope(form.get('scope'))
    const granted = clientScopes(client)
    for (const s of requested) {
      if (!allScopesGranted(ctx.scopeStrategy, granted, [s])) {
        throw invalidScope(`The OAuth 2.0 Client is not allowed to request scope '${s}'.`)
      }
    }
    // Hydra accepts audience repeated or space-delimited.
    const audience = form.getAll('audience').flatMap((a) => splitScope(a))
    checkAudience(clientList(client, 'audience'), audience)
    const lifespan = clientCredentialsLifespan(client) ?? ctx.ttlSeconds
    const strategy = client.data.access_token_strategy === 'jwt' || client.data.access_token_strategy === 'opaque' ? client.data.access_token_strategy : ctx.defaultStrategy
    const { token } = await ctx.tokens.issue({
      clientId: client.client_id,
      subject: client.client_id,
      scope: requested,
      audience,
      lifespanSeconds: lifespan,
      strategy,
    })
    ctx.metrics.tokensIssued.inc({ grant_type: 'client_credentials', strategy })
    return { access_token: token, expires_in: lifespan, scope: requested.join(' '), token_type: 'bearer' }
  },
}
