import type { TokenServerContext } from '../../context.js'
import { invalidRequest } from '../../oauth-error.js'
import type { AuthorizationIssuer, GrantedAuthorization } from '../authorization.js'
import { grantStateOf, saveGrantState } from './grant-state.js'
import { signIdToken } from './id-token.js'
import { lifespanOf, strategyOf } from './mint.js'

/** What issuance needs of the server; everything but the issuer itself (which is built from it). */
export type IssuerContext = Omit<TokenServerContext, 'authorizationIssuer'>

/**
 * Turns a granted authorization into what its `response_type` asks for (fosite's authorize
 * handlers): `code` → an authorization code (`ory_ac_…`, stored by the hash of its signature
 * with the whole grant, single-use, `ttl.auth_code`); `token` → an access token of the grant
 * (implicit lifespans); `id_token` → an ID token, with `c_hash` and `at_hash` for what is issued
 * beside it. `scope` is always in the answer, as fosite adds it.
 */
export function createAuthorizationIssuer(ctx: IssuerContext): AuthorizationIssuer {
  return {
    async issue(granted: GrantedAuthorization): Promise<Record<string, string>> {
      const r = granted.request
      const client = await ctx.store.getClient(r.client_id)
      if (client === undefined) throw invalidRequest(`The OAuth 2.0 Client '${r.client_id}' does not exist any more.`)
      const now = Math.floor(Date.now() / 1000)
      const state = grantStateOf(granted, client, ctx.issue, now)
      const out: Record<string, string> = {}
      const types = new Set(r.response_types)
      let code: string | undefined
      if (types.has('code')) {
        const issued = ctx.codes.issue()
        code = issued.token
        await ctx.store.oidc.upsert({
          model: 'auth_code',
          id: issued.signatureHash,
          payload: granted as unknown as Record<string, unknown>,
          expires_at: now + ctx.issue.authCodeSeconds,
          grant_id: granted.grant_id,
          subject: granted.subject,
          client_id: r.client_id,
          sid: granted.sid,
        })
        out.code = code
      }
      let accessToken: string | undefined
      if (types.has('token')) {
        const lifespan = lifespanOf(client, 'implicit', 'access_token', ctx.ttlSeconds)
        const strategy = strategyOf(ctx, client)
        const access = await ctx.tokens.issue({
          clientId: client.client_id,
          subject: state.subject,
          scope: state.scope,
          audience: state.audience,
          lifespanSeconds: lifespan,
          strategy,
          grantId: state.grant_id,
          ext: state.access_ext,
        })
        ctx.metrics.tokensIssued.inc({ grant_type: 'implicit', strategy })
        // Userinfo answers from the grant's state as long as this token lives.
        await saveGrantState(ctx.store.oidc, state, access.record.expires_at, now)
        accessToken = access.token
        out.access_token = access.token
        out.token_type = 'bearer'
        out.expires_in = String(lifespan)
      }
      if (types.has('id_token')) {
        out.id_token = await signIdToken(ctx.keys, {
          state,
          issuer: ctx.issuer,
          lifespanSeconds: lifespanOf(client, 'implicit', 'id_token', ctx.issue.idTokenSeconds),
          accessToken,
          code,
        })
      }
      out.scope = state.scope.join(' ')
      return out
    },
  }
}
