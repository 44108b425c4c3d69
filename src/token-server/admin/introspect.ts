import { allScopesGranted, splitScope } from '../../scope.js'
import type { TokenServerContext } from '../context.js'
import { readForm, sendJson } from '../http/io.js'
import type { RouteContext } from '../http/router.js'
import { invalidRequest } from '../oauth-error.js'

const INACTIVE = { active: false }

/**
 * `POST /admin/oauth2/introspect` (RFC 7662) with Hydra's response fields. Anything that is not a
 * valid, unexpired, unrevoked token of ours, or that lacks one of the asked scopes, is
 * `200 {"active":false}` with no further detail (§2.2).
 */
export function introspectEndpoint(ctx: TokenServerContext) {
  return async ({ req, res }: RouteContext): Promise<void> => {
    const form = await readForm(req)
    const token = form.get('token')
    if (token === null) throw invalidRequest('The request is missing the "token" parameter.')
    const record = token === '' ? undefined : await ctx.tokens.resolve(token)
    if (record === undefined || !allScopesGranted(ctx.scopeStrategy, record.scope, splitScope(form.get('scope')))) {
      ctx.metrics.introspections.inc({ active: 'false' })
      sendJson(res, 200, INACTIVE)
      return
    }
    ctx.metrics.introspections.inc({ active: 'true' })
    const body: Record<string, unknown> = {
      active: true,
      scope: record.scope.join(' '),
      client_id: record.client_id,
      sub: record.subject,
      exp: record.expires_at,
      iat: record.issued_at,
      nbf: record.issued_at,
      aud: record.audience,
      iss: ctx.issuer,
      token_type: 'Bearer',
      token_use: record.token_use,
    }
    if (Object.keys(record.ext).length > 0) body.ext = record.ext
    sendJson(res, 200, body)
  }
}
