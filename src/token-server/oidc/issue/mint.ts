import type { TokenServerContext } from '../../context.js'
import type { ClientRecord, TokenStrategy } from '../../store/types.js'
import { parseDuration } from '../../../config/duration.js'
import { invalidGrant } from './errors.js'
import { saveGrantState, type GrantState } from './grant-state.js'
import { isGrantRevoked, revokeGrant } from './revoke-grant.js'
import { signIdToken } from './id-token.js'

/** What issuance needs of the server: all of it but the authorization issuer, which is built from it. */
export type IssuerContext = Omit<TokenServerContext, 'authorizationIssuer'>

/** The grants whose per-client lifespans exist (Hydra's `<grant>_grant_<token>_lifespan` fields). */
export type LifespanGrant = 'authorization_code' | 'refresh_token' | 'implicit'

/**
 * The client's lifespan for one token of one grant in seconds, else the server's (fosite's
 * GetEffectiveLifespan).
 */
export function lifespanOf(client: ClientRecord, grant: LifespanGrant, token: 'access_token' | 'id_token' | 'refresh_token', fallback: number): number {
  const v = client.data[`${grant}_grant_${token}_lifespan`]
  return typeof v === 'string' && v !== '' ? Math.max(1, Math.round(parseDuration(v) / 1000)) : fallback
}

export function strategyOf(ctx: Pick<TokenServerContext, 'defaultStrategy'>, client: ClientRecord): TokenStrategy {
  const s = client.data.access_token_strategy
  return s === 'jwt' || s === 'opaque' ? s : ctx.defaultStrategy
}

/** Refresh tokens are issued for `offline` or `offline_access`, to clients allowed the refresh grant (fosite). */
export function mayRefresh(client: ClientRecord, scope: readonly string[]): boolean {
  const grantTypes = Array.isArray(client.data.grant_types) ? client.data.grant_types.map(String) : ['authorization_code']
  return (scope.includes('offline') || scope.includes('offline_access')) && grantTypes.includes('refresh_token')
}

export interface Minted {
  readonly access_token: string
  readonly expires_in: number
  readonly id_token?: string
  readonly refresh_token?: string
  readonly scope: string
  readonly token_type: 'bearer'
}

export interface MintRequest {
  readonly grant: LifespanGrant
  readonly state: GrantState
  /** The access token's scope: the grant's, or a narrower one asked for at refresh (RFC 6749 §6). */
  readonly scope: readonly string[]
  readonly refresh: boolean
  /** Also an ID token (`openid` granted; `id_token` asked for, at the authorization endpoint). */
  readonly idToken: boolean
  /** A code issued beside them (hybrid flows): the ID token's c_hash. */
  readonly code?: string | undefined
}

/**
 * Mints an access token (and a refresh token, and an ID token, as asked) of the grant, saves the
 * grant's state to live as long as they do, and stores the refresh token's rotation state.
 * Everything is durable before it returns (the caller answers 200 after).
 */
export async function mintTokens(ctx: IssuerContext, client: ClientRecord, m: MintRequest): Promise<Minted> {
  const { state } = m
  const now = Math.floor(Date.now() / 1000)
  const lifespan = lifespanOf(client, m.grant, 'access_token', ctx.ttlSeconds)
  const strategy = strategyOf(ctx, client)
  const access = await ctx.tokens.issue({
    clientId: client.client_id,
    subject: state.subject,
    scope: m.scope,
    audience: state.audience,
    lifespanSeconds: lifespan,
    strategy,
    grantId: state.grant_id,
    ext: state.access_ext,
  })
  ctx.metrics.tokensIssued.inc({ grant_type: m.grant, strategy })
  let until = access.record.expires_at
  let refreshToken: string | undefined
  if (m.refresh) {
    const rtLifespan = lifespanOf(client, m.grant, 'refresh_token', ctx.issue.refreshTokenSeconds)
    const refresh = await ctx.tokens.issueRefresh({
      clientId: client.client_id,
      subject: state.subject,
      scope: state.scope,
      audience: state.audience,
      lifespanSeconds: rtLifespan,
      grantId: state.grant_id,
    })
    refreshToken = refresh.token
    until = Math.max(until, refresh.record.expires_at)
    await ctx.store.oidc.upsert({
      model: 'refresh_token',
      id: refresh.record.signature_hash,
      // The access token minted with it: graceful rotation revokes only that one.
      payload: { access_signature_hash: access.record.signature_hash },
      expires_at: refresh.record.expires_at,
      grant_id: state.grant_id,
      subject: state.subject,
      client_id: client.client_id,
    })
  }
  await saveGrantState(ctx.store.oidc, state, until, now)
  // Revoked while this issuance was writing (a replayed code, a revoked consent): what was just
  // written, the grant state included, goes with the rest of the grant (revoke-grant.ts).
  if (await isGrantRevoked(ctx, state.grant_id, now)) {
    await revokeGrant(ctx, state.grant_id, 'revoked_during_issuance')
    throw invalidGrant(m.grant === 'refresh_token' ? 'The refresh token was already used.' : 'The authorization code has already been used.')
  }
  let idToken: string | undefined
  if (m.idToken) {
    idToken = await signIdToken(ctx.keys, {
      state,
      issuer: ctx.issuer,
      lifespanSeconds: lifespanOf(client, m.grant, 'id_token', ctx.issue.idTokenSeconds),
      accessToken: access.token,
      code: m.code,
    })
  }
  // Hydra's field order (its token response is a sorted JSON object).
  return {
    access_token: access.token,
    expires_in: lifespan,
    ...(idToken === undefined ? {} : { id_token: idToken }),
    ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
    scope: m.scope.join(' '),
    token_type: 'bearer',
  }
}
