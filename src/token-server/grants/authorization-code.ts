import { createHash } from 'node:crypto'
import type { TokenServerContext } from '../context.js'
import type { GrantedAuthorization } from '../oidc/authorization.js'
import { invalidGrant } from '../oidc/issue/errors.js'
import { grantStateOf } from '../oidc/issue/grant-state.js'
import { mayRefresh, mintTokens } from '../oidc/issue/mint.js'
import { revokeGrant } from '../oidc/issue/revoke-grant.js'
import type { ClientRecord } from '../store/types.js'
import type { Grant } from './types.js'

/** RFC 7636 §4.1: the verifier's alphabet. */
const VERIFIER = /^[A-Za-z0-9\-._~]*$/

/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6), in fosite's order and words: the code must be ours
 * and unexpired; a code already exchanged revokes every token of its grant (§4.1.2: "SHOULD
 * revoke") and is refused; it must be this client's; `redirect_uri` must repeat the
 * authorization request's when that named one; the verifier must match the challenge. Only then
 * is the code consumed, atomically: of two concurrent exchanges exactly one wins, and the other is
 * a reuse. Public clients (`token_endpoint_auth_method: none`) were identified by client_id alone.
 */
export const authorizationCode: Grant = {
  grantType: 'authorization_code',
  parameters: new Set(['code', 'redirect_uri', 'code_verifier']),
  repeatable: new Set(),
  async handle(ctx, client, form) {
    const code = form.get('code') ?? ''
    const hash = ctx.codes.verify(code)
    const now = Math.floor(Date.now() / 1000)
    const found = hash === undefined ? undefined : await ctx.store.oidc.find('auth_code', hash, now)
    if (hash === undefined || found === undefined) throw invalidGrant()
    if (found.consumed_at !== undefined) throw await reused(ctx, found.grant_id)
    const granted = found.payload as unknown as GrantedAuthorization
    const request = granted.request
    if (request.client_id !== client.client_id) {
      throw invalidGrant('The OAuth 2.0 Client ID from this request does not match the one from the authorize request.')
    }
    if (request.redirect_uri_given && form.get('redirect_uri') !== request.redirect_uri) {
      throw invalidGrant("The 'redirect_uri' from this request does not match the one from the authorize request.")
    }
    const pkce = checkPkce(granted, form.get('code_verifier') ?? '')
    if (pkce !== undefined) {
      // fosite deletes the PKCE data on the first try, right or wrong: a verifier is not guessed twice.
      await ctx.store.oidc.destroy('auth_code', hash)
      throw pkce
    }
    const consumed = await ctx.store.oidc.consume('auth_code', hash, now)
    if (consumed.status === 'missing') throw invalidGrant()
    if (consumed.status === 'again') throw await reused(ctx, found.grant_id)
    return exchange(ctx, client, granted, now)
  },
}

async function exchange(ctx: TokenServerContext, client: ClientRecord, granted: GrantedAuthorization, now: number) {
  const state = grantStateOf(granted, client, ctx.issue, now)
  return mintTokens(ctx, client, {
    grant: 'authorization_code',
    state,
    scope: state.scope,
    refresh: mayRefresh(client, state.scope),
    idToken: state.scope.includes('openid'),
  })
}

/** A second use of a code: the grant's tokens are revoked (fosite revokes by request id). */
async function reused(ctx: TokenServerContext, grantId: string | undefined) {
  if (grantId !== undefined) {
    const n = await revokeGrant(ctx, grantId, 'code_reuse')
    ctx.logger.warn({ grant_id: grantId, tokens: n }, 'authorization code reused: its grant is revoked')
  }
  return invalidGrant('The authorization code has already been used.')
}

/** fosite's PKCE check at the token endpoint; undefined when it passes. */
function checkPkce(granted: GrantedAuthorization, verifier: string) {
  const challenge = granted.request.code_challenge ?? ''
  const method = granted.request.code_challenge_method ?? 'plain'
  if (challenge === '') {
    // No challenge was stored: fosite has no PKCE data to check a verifier against.
    return verifier === '' ? undefined : invalidGrant('Unable to find initial PKCE data tied to this request')
  }
  if (verifier.length < 43) return invalidGrant('The PKCE code verifier must be at least 43 characters.')
  if (verifier.length > 128) return invalidGrant('The PKCE code verifier can not be longer than 128 characters.')
  if (!VERIFIER.test(verifier)) return invalidGrant("The PKCE code verifier must only contain [a-Z], [0-9], '-', '.', '_', '~'.")
  const computed = method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier
  if (computed !== challenge) return invalidGrant('The PKCE code challenge did not match the code verifier.')
  return undefined
}

