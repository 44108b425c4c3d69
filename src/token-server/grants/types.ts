import type { TokenServerContext } from '../context.js'
import type { ClientRecord } from '../store/types.js'

/** The token endpoint's answer (RFC 6749 §5.1). */
export interface TokenResponse {
  readonly access_token: string
  readonly expires_in: number
  /** When `openid` was granted (authorization code, refresh). */
  readonly id_token?: string
  /** When `offline` or `offline_access` was granted. */
  readonly refresh_token?: string
  readonly scope: string
  readonly token_type: 'bearer'
}

/**
 * One grant type, as node-oidc-provider shapes it: a small module registered by its
 * `grant_type` value (grants/index.ts). The token endpoint authenticates the client and checks
 * the client may use this grant type before `handle` runs.
 */
export interface Grant {
  readonly grantType: string
  /**
   * The form parameters this grant reads, beyond `grant_type` and client authentication. Each
   * may appear once (RFC 6749 §3.2) unless it is also in `repeatable`; the token endpoint
   * refuses a repeated one before the grant runs.
   */
  readonly parameters: ReadonlySet<string>
  /** Parameters that may repeat (Hydra's `audience`). */
  readonly repeatable: ReadonlySet<string>
  handle(ctx: TokenServerContext, client: ClientRecord, form: URLSearchParams): Promise<TokenResponse>
}
