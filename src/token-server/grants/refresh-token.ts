import { allScopesGranted, splitScope } from '../../scope.js'
import { clientScopes } from '../client.js'
import type { TokenServerContext } from '../context.js'
import { fositeInvalidRequest, fositeInvalidScope, invalidGrant } from '../oidc/issue/errors.js'
import { loadGrantState } from '../oidc/issue/grant-state.js'
import { mintTokens } from '../oidc/issue/mint.js'
import { revokeGrant, revokeGrantTokens, revokeTokens } from '../oidc/issue/revoke-grant.js'
import type { OidcRecord } from '../oidc/records.js'
import type { Grant } from './types.js'

/**
 * RFC 6749 §6 with Hydra's rotation: every use returns a new access and refresh token (and ID
 * token when `openid` was granted) of the same grant. The old token is consumed atomically, so
 * of concurrent uses exactly one rotates. Later uses of a rotated token:
 * - within `oauth2.grant.refresh_token.rotation_grace_period` of its first use, rotate again
 *   (Hydra's graceful rotation: only the access token minted with it is revoked);
 * - while the winning rotation is still being written, `invalid_request` (fosite's "multiple
 *   concurrent requests"), nothing revoked: the client retries; a rotation still unwritten
 *   after STALLED_ROTATION_SECONDS never will be (its process died midway), so it is a reuse;
 * - otherwise, reuse (RFC 6819 §5.2.2.3): the whole grant is revoked, and `invalid_grant`.
 * Strict rotation (no grace) revokes every other token of the grant, as Hydra's does.
 * `scope` may narrow the new access token's scope to some of the grant's (RFC 6749 §6); the new
 * refresh token keeps the grant's scope. Hydra ignores `scope` here.
 */
/**
 * How long a consumed refresh token may stay not yet marked rotated before a use of it counts as
 * reuse rather than a concurrent request. A rotation writes a few records (well under a second
 * even on a busy store); one unfinished after this long was interrupted (crash, lost database
 * connection), and without a bound every retry would answer "retry" forever. Revoking the grant
 * then is the safe end: the user logs in again.
 */
export const STALLED_ROTATION_SECONDS = 10

export const refreshToken: Grant = {
  grantType: 'refresh_token',
  parameters: new Set(['refresh_token', 'scope']),
  repeatable: new Set(),
  async handle(ctx, client, form) {
    const token = form.get('refresh_token') ?? ''
    const hash = await ctx.tokens.signatureHashOf(token)
    const now = Math.floor(Date.now() / 1000)
    // Only ory_rt_ tokens have a rotation record; an access token's hash finds none.
    const found = hash === undefined ? undefined : await ctx.store.oidc.find('refresh_token', hash, now)
    if (hash === undefined || found === undefined) throw notValid()
    if (found.client_id !== client.client_id) {
      throw invalidGrant('The OAuth 2.0 Client ID from this request does not match the ID during the initial token issuance.')
    }
    const grantId = found.grant_id ?? ''
    const state = await loadGrantState(ctx.store.oidc, grantId, now)
    if (state === undefined) throw notValid()
    for (const s of state.scope) {
      if (!allScopesGranted(ctx.scopeStrategy, clientScopes(client), [s])) {
        throw fositeInvalidScope(`The OAuth 2.0 Client is not allowed to request scope '${s}'.`)
      }
    }
    const asked = splitScope(form.get('scope'))
    for (const s of asked) {
      if (!state.scope.includes(s)) throw fositeInvalidScope(`The requested scope '${s}' was not granted to this refresh token.`)
    }

    const grace = ctx.issue.rotationGraceSeconds
    const consumed = await ctx.store.oidc.consume('refresh_token', hash, now)
    if (consumed.status === 'missing') throw notValid()
    if (consumed.status === 'again') {
      const first = consumed.record.consumed_at ?? 0
      if (!(grace > 0 && first + grace > now)) {
        if (consumed.record.payload.rotated !== true && now - first < STALLED_ROTATION_SECONDS) {
          throw fositeInvalidRequest('Failed to refresh token because of multiple concurrent requests using the same token. Please retry the request.')
        }
        const n = await revokeGrant(ctx, grantId, 'refresh_reuse')
        ctx.logger.warn({ grant_id: grantId, tokens: n }, 'refresh token reused: its grant is revoked')
        throw invalidGrant('The refresh token was already used.')
      }
      // Within the grace period: rotate again, the previous rotation's tokens untouched.
      await revokeTokens(ctx, [String(consumed.record.payload.access_signature_hash ?? '')], 'refresh_rotation')
    } else {
      // The token row is gone when the grant or the client's tokens were revoked meanwhile.
      if ((await ctx.store.getToken(hash)) === undefined) throw notValid()
      await rotate(ctx, consumed.record, grace, grantId)
    }
    const minted = await mintTokens(ctx, client, {
      grant: 'refresh_token',
      state,
      scope: asked.length > 0 ? asked : state.scope,
      refresh: true,
      idToken: state.scope.includes('openid'),
    })
    if (consumed.status === 'first') {
      // Written last: a later use of this token is a reuse (grant revoked), an earlier one is concurrent.
      await ctx.store.oidc.upsert({ ...consumed.record, payload: { ...consumed.record.payload, rotated: true } })
    }
    return minted
  },
}

/**
 * Strict rotation removes every token of the grant (the used refresh token and all access
 * tokens, as Hydra's strictRefreshRotation); graceful rotation only the used refresh token and
 * the access token minted with it.
 */
async function rotate(ctx: TokenServerContext, used: OidcRecord, grace: number, grantId: string): Promise<void> {
  if (grace > 0) {
    await revokeTokens(ctx, [used.id, String(used.payload.access_signature_hash ?? '')], 'refresh_rotation')
    return
  }
  await revokeGrantTokens(ctx, grantId, 'refresh_rotation')
}

const notValid = () => invalidGrant('The refresh token is malformed or not valid.')
