import { invalidRequest } from '../../oauth-error.js'
import type { AuthorizationIssuer, GrantedAuthorization } from '../authorization.js'
import { grantStateOf } from './grant-state.js'
import { signIdToken } from './id-token.js'
import { lifespanOf, mintTokens, type IssuerContext } from './mint.js'

export type { IssuerContext } from './mint.js'

/**
 * Turns a granted authorization into what its `response_type` asks for (fosite's authorize
 * handlers): `code` → an authorization code (`ory_ac_…`, stored by the hash of its signature
 * with the whole grant, single-use, `ttl.auth_code`); `token` → an access token of the grant
 * (implicit lifespans, never a refresh token); `id_token` → an ID token, with `c_hash` and
 * `at_hash` for what is issued beside it. `scope` is always in the answer, as fosite adds it.
 */
export function createAuthorizationIssuer(ctx: IssuerContext): AuthorizationIssuer {
  return {
    async issue(granted: GrantedAuthorization): Promise<Record<string, string>> {
      const r = granted.request
      const client = await ctx.store.getClient(r.client_id)
      if (client === undefined) throw invalidRequest(`The OAuth 2.0 Client '${r.client_id}' does not exist any more.`)
      const now = Math.floor(Date.now() / 1000)
      const state = grantStateOf(granted, client, ctx.issue, now)
      const types = new Set(r.response_types)
      const out: Record<string, string> = {}
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
      if (types.has('token')) {
        const minted = await mintTokens(ctx, client, { grant: 'implicit', state, scope: state.scope, refresh: false, idToken: types.has('id_token'), code })
        out.access_token = minted.access_token
        out.token_type = minted.token_type
        out.expires_in = String(minted.expires_in)
        if (minted.id_token !== undefined) out.id_token = minted.id_token
      } else if (types.has('id_token')) {
        out.id_token = await signIdToken(ctx.keys, {
          state,
          issuer: ctx.issuer,
          lifespanSeconds: lifespanOf(client, 'implicit', 'id_token', ctx.issue.idTokenSeconds),
          code,
        })
      }
      out.scope = state.scope.join(' ')
      return out
    },
  }
}
