import type { TokenServerContext } from '../../context.js'

/**
 * Revokes a grant as a whole: every token of it (access and refresh, each announced to gateways)
 * and every OpenID Connect record of it (codes, refresh rotation state, the grant's state).
 * Code reuse, refresh-token reuse and `/oauth2/revoke` all end here. Returns how many tokens went.
 */
export async function revokeGrant(ctx: TokenServerContext, grantId: string, via: string): Promise<number> {
  const n = await revokeGrantTokens(ctx, grantId, via)
  await ctx.store.oidc.revokeByGrantId(grantId)
  return n
}

/** Deletes every token of a grant, announcing each; its OpenID Connect records stay (strict rotation). */
export async function revokeGrantTokens(ctx: TokenServerContext, grantId: string, via: string): Promise<number> {
  const revoked = await ctx.store.revokeByGrantId(grantId)
  ctx.metrics.revocations.inc({ via }, revoked.length)
  for (const signatureHash of revoked) await ctx.feed.publish({ type: 'token', signature_hash: signatureHash })
  return revoked.length
}

/** Deletes some tokens of a grant (rotation), announcing each to gateways. */
export async function revokeTokens(ctx: TokenServerContext, signatureHashes: readonly string[], via: string): Promise<void> {
  for (const hash of signatureHashes) {
    if (await ctx.store.deleteToken(hash)) {
      ctx.metrics.revocations.inc({ via })
      await ctx.feed.publish({ type: 'token', signature_hash: hash })
    }
  }
}
