import type { TokenServerContext } from '../context.js'
import type { GrantRegistry } from '../grants/index.js'
import { sendJson } from '../http/io.js'
import type { RouteContext } from '../http/router.js'
import { PUBLISHED_SETS } from '../keys.js'

/**
 * `GET /.well-known/openid-configuration`: the endpoints and capabilities this server really has
 * (it issues access tokens only, so no authorization or userinfo endpoint is claimed). Beyond
 * Hydra, `introspection_endpoint` is listed when `urls.self.admin` is configured.
 */
export function discoveryEndpoint(ctx: TokenServerContext, grants: GrantRegistry) {
  const base = ctx.issuer.endsWith('/') ? ctx.issuer : `${ctx.issuer}/`
  const doc: Record<string, unknown> = {
    issuer: ctx.issuer,
    token_endpoint: new URL('oauth2/token', base).href,
    jwks_uri: new URL('.well-known/jwks.json', base).href,
    revocation_endpoint: new URL('oauth2/revoke', base).href,
    grant_types_supported: grants.types,
    response_types_supported: ['token'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
  }
  if (ctx.adminUrl !== '') {
    const admin = ctx.adminUrl.endsWith('/') ? ctx.adminUrl : `${ctx.adminUrl}/`
    doc.introspection_endpoint = new URL('admin/oauth2/introspect', admin).href
  }
  return async ({ res }: RouteContext): Promise<void> => sendJson(res, 200, doc)
}

/** `GET /.well-known/jwks.json`: public keys of the signing key sets, for JWT verifiers. */
export function jwksEndpoint(ctx: TokenServerContext) {
  return async ({ res }: RouteContext): Promise<void> => {
    const keys = []
    for (const set of PUBLISHED_SETS) for (const r of await ctx.keys.records(set)) keys.push(r.public_jwk)
    sendJson(res, 200, { keys }, { 'cache-control': 'public, max-age=60' })
  }
}
