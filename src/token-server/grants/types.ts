import type { TokenServerContext } from '../context.js'
import type { ClientRecord } from '../store/types.js'

/** The token endpoint's answer (RFC 6749 §5.1). */
export interface TokenResponse {
  readonly access_token: string
  readonly expires_in: number
  readonly scope: string
  readonly token_type: 'bearer'
}

/** One grant type: a small module registered by its `grant_type` value. */
export interface Grant {
  readonly grantType: string
  /** Runs after the client is authenticated and allowed this grant type. */
  handle(ctx: TokenServerContext, client: ClientRecord, form: URLSearchParams): Promise<TokenResponse>
}
