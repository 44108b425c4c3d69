import type { TokenServerContext } from '../../context.js'

/** What revoking needs of the server (issuance calls it too, without the authorization issuer). */
export type RevokeContext = Pick<TokenServerContext, 'store' | 'metrics' | 'feed' | 'issue' | 'ttlSeconds'>

/**
 * Revokes a grant as a whole: every token of it (access and refresh, each announced to gateways)
 * and every OpenID Connect record of it (codes, refresh rotation state, the grant's state).
 * Code reuse, refresh-token reuse, consent revocation and `/oauth2/revoke` all end here. A
 * tombstone is written first, so an issuance of the grant still in flight (a code exchanged just
 * before its reuse) finds it once its tokens are written and takes them back (mint.ts): either
 * its tokens exist before the deletes below, or it sees the tombstone. Returns how many tokens went.
 */
export async function revokeGrant(ctx: RevokeContext, grantId: string, via: string): Promise<number> {
  const now = Math.floor(Date.now() / 1000)
  const grant = await ctx.store.oidc.find('grant', grantId, now)
  const { issue } = ctx
  const longest = Math.max(ctx.ttlSeconds, issue.refreshTokenSeconds, issue.authCodeSeconds, issue.idTokenSeconds)
  await ctx.store.oidc.upsert({ model: 'revoked_grant', id: grantId, payload: { via, revoked_at: now }, expires_at: Math.max(now + longest, grant?.expires_at ?? 0) })
  const n = await revokeGrantTokens(ctx, grantId, via)
  await ctx.store.oidc.revokeByGrantId(grantId)
  return n
}

/** Whether the grant was revoked (its tombstone is there): nothing may be issued from it any more. */
export async function isGrantRevoked(ctx: Pick<TokenServerContext, 'store'>, grantId: string, now: number): Promise<boolean> {
  return (await ctx.store.oidc.find('revoked_grant', grantId, now)) !== undefined
}

/** Deletes every token of a grant, announcing each; its OpenID Connect records stay (strict rotation). */
export async function revokeGrantTokens(ctx: RevokeContext, grantId: string, via: string): Promise<number> {
  const revoked = await ctx.store.revokeByGrantId(grantId)
  ctx.metrics.revocations.inc({ via }, revoked.length)
  for (const signatureHash of revoked) await ctx.feed.publish({ type: 'token', signature_hash: signatureHash })
  return revoked.length
}

/** Deletes some tokens of a grant (rotation), announcing each to gateways. */
export async function revokeTokens(ctx: RevokeContext, signatureHashes: readonly string[], via: string): Promise<void> {
  for (const hash of signatureHashes) {
    if (await ctx.store.deleteToken(hash)) {
      ctx.metrics.revocations.inc({ via })
      await ctx.feed.publish({ type: 'token', signature_hash: hash })
    }
  }
}
