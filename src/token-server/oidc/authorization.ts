/**
 * The seam between the authorization flow (authorization endpoint, login/consent protocol:
 * oidc/flow/…) and token issuance (codes, implicit/hybrid tokens, ID tokens: oidc/issue/…). The
 * flow validates the request and collects the user's login and consent; issuance turns the
 * result into what `response_type` asks for.
 */

/** A validated authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1). */
export interface AuthorizationRequest {
  readonly client_id: string
  /** Exactly one of the client's registered redirect URIs. */
  readonly redirect_uri: string
  /** Whether the request named redirect_uri (then the token request must name it too, RFC 6749 §4.1.3). */
  readonly redirect_uri_given: boolean
  /** `code`, `token`, `id_token`, in any combination Hydra allows. */
  readonly response_types: readonly string[]
  readonly response_mode: 'query' | 'fragment' | 'form_post'
  readonly scope: readonly string[]
  readonly audience: readonly string[]
  readonly state?: string | undefined
  readonly nonce?: string | undefined
  readonly code_challenge?: string | undefined
  readonly code_challenge_method?: 'S256' | 'plain' | undefined
  readonly prompt: readonly string[]
  readonly max_age?: number | undefined
  readonly acr_values: readonly string[]
  readonly ui_locales: readonly string[]
  /** OpenID Connect `display` (page, popup, touch, wap), forwarded to the login and consent apps. */
  readonly display?: string | undefined
  readonly login_hint?: string | undefined
  readonly id_token_hint?: string | undefined
  /** The request as the browser sent it (Hydra's `request_url`). */
  readonly request_url: string
  /** Seconds since the epoch (the ID token's `rat`). */
  readonly requested_at: number
}

/** What login and consent decided, handed to issuance. */
export interface GrantedAuthorization {
  readonly request: AuthorizationRequest
  /** The token family of everything issued from this authorization (codes, access, refresh, ID tokens). */
  readonly grant_id: string
  /** The subject as the login app named it. */
  readonly subject: string
  /** Login accept's `force_subject_identifier`, when given (the client's pairwise id wins otherwise). */
  readonly force_subject_identifier?: string | undefined
  readonly granted_scope: readonly string[]
  readonly granted_audience: readonly string[]
  /** Consent accept's `session`: extra claims for access tokens (`ext`) and ID tokens. */
  readonly session: {
    readonly access_token: Readonly<Record<string, unknown>>
    readonly id_token: Readonly<Record<string, unknown>>
  }
  /** Seconds since the epoch when the user authenticated. */
  readonly auth_time: number
  readonly acr: string
  readonly amr: readonly string[]
  /** The authentication session id (the ID token's `sid`). */
  readonly sid: string
  /** The consent request this came from (Hydra's consent session is found by it). */
  readonly consent_challenge: string
}

/** Issues what response_type asks for; the answer's parameters go back to the redirect URI. */
export interface AuthorizationIssuer {
  /**
   * @returns the response parameters (`code`, `access_token`, `token_type`, `expires_in`,
   *   `id_token`, `scope`), without `state`, which the flow adds. No `iss` (RFC 9207) is added:
   *   Hydra's authorization responses carry none.
   */
  issue(granted: GrantedAuthorization): Promise<Record<string, string>>
}
