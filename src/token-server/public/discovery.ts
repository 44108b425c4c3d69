import type { TokenServerContext } from '../context.js'
import type { GrantRegistry } from '../grants/index.js'
import { sendJson } from '../http/io.js'
import type { RouteContext } from '../http/router.js'
import { ID_TOKEN_SET, PUBLISHED_SETS } from '../keys.js'
import { appendPath } from '../oidc/issue/settings.js'

/**
 * `GET /.well-known/openid-configuration`, field by field as Hydra's WellKnown publishes it
 * (oauth2/handler.go, discoverOidcConfiguration), with what this server differs in said here:
 * - `grant_types_supported` is the grant registry (Hydra lists device_code and implicit too);
 * - `token_endpoint_auth_methods_supported` leaves out `private_key_jwt`, which is not served;
 * - no `device_authorization_endpoint`, `registration_endpoint` or verifiable-credentials fields
 *   (not served); `request_parameter_supported` and `request_uri_parameter_supported` are false
 *   (request objects are not read);
 * - `introspection_endpoint` when `urls.self.admin` is configured (Hydra has none).
 * The signing algorithm is that of the ID token key set's newest key, read when the document is served.
 */
export function discoveryEndpoint(ctx: TokenServerContext, grants: GrantRegistry) {
  const base = ctx.issuer.endsWith('/') ? ctx.issuer : `${ctx.issuer}/`
  const pub = ctx.issue.publicUrl
  const fixed = {
    issuer: ctx.issuer,
    authorization_endpoint: appendPath(pub, 'oauth2/auth'),
    token_endpoint: appendPath(pub, 'oauth2/token'),
    jwks_uri: new URL('.well-known/jwks.json', base).href,
    subject_types_supported: ctx.issue.subjectTypes,
    response_types_supported: ['code', 'code id_token', 'id_token', 'token id_token', 'token', 'token id_token code'],
    claims_supported: ctx.issue.claimsSupported,
    grant_types_supported: grants.types,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    userinfo_endpoint: ctx.issue.userinfoUrl,
    scopes_supported: ctx.issue.scopesSupported,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'none'],
  }
  const tail = {
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    require_request_uri_registration: true,
    claims_parameter_supported: false,
    revocation_endpoint: new URL('oauth2/revoke', base).href,
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    frontchannel_logout_supported: true,
    frontchannel_logout_session_supported: true,
    end_session_endpoint: new URL('oauth2/sessions/logout', base).href,
    request_object_signing_alg_values_supported: ['none', 'RS256', 'ES256'],
    code_challenge_methods_supported: ['plain', 'S256'],
  }
  const introspection = ctx.adminUrl === '' ? {} : { introspection_endpoint: appendPath(ctx.adminUrl, 'admin/oauth2/introspect') }
  return async ({ res }: RouteContext): Promise<void> => {
    const { alg } = await ctx.keys.signingKey(ID_TOKEN_SET, 'RS256')
    sendJson(res, 200, {
      ...fixed,
      userinfo_signing_alg_values_supported: ['none', alg],
      id_token_signing_alg_values_supported: [alg],
      id_token_signed_response_alg: [alg],
      userinfo_signed_response_alg: [alg],
      ...tail,
      ...introspection,
    })
  }
}

/** `GET /.well-known/jwks.json`: public keys of the signing key sets, for JWT verifiers. */
export function jwksEndpoint(ctx: TokenServerContext) {
  return async ({ res }: RouteContext): Promise<void> => {
    const keys = []
    for (const set of PUBLISHED_SETS) for (const r of await ctx.keys.records(set)) keys.push(r.public_jwk)
    sendJson(res, 200, { keys }, { 'cache-control': 'public, max-age=60' })
  }
}
