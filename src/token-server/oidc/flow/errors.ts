/**
 * The authorization endpoint's errors in fosite's words (Hydra's core): each error name has one
 * fixed description, and a hint saying what was wrong is appended to it, as fosite's
 * `GetDescription` does, so a client sees exactly the `error_description` Hydra would send.
 */
import { OAuthError } from '../../oauth-error.js'

/** fosite's DescriptionField per error name (errors.go), with its HTTP status. */
const FOSITE: Readonly<Record<string, readonly [number, string]>> = {
  invalid_request: [400, 'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.'],
  invalid_client: [401, 'Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method).'],
  invalid_grant: [400, 'The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.'],
  unauthorized_client: [400, 'The client is not authorized to request a token using this method.'],
  invalid_scope: [400, 'The requested scope is invalid, unknown, or malformed.'],
  invalid_state: [400, 'The state is missing or does not have enough characters and is therefore considered too weak.'],
  insufficient_entropy: [400, 'The request used a security parameter (e.g., anti-replay, anti-csrf) with insufficient entropy.'],
  unsupported_response_type: [400, 'The authorization server does not support obtaining a token using this method.'],
  unsupported_response_mode: [400, 'The authorization server does not support obtaining a response using this response mode.'],
  request_unauthorized: [401, 'The request could not be authorized.'],
  access_denied: [403, 'The resource owner or authorization server denied the request.'],
  request_forbidden: [403, 'The request is not allowed.'],
  login_required: [400, 'The Authorization Server requires End-User authentication.'],
  consent_required: [400, 'The Authorization Server requires End-User consent.'],
  request_not_supported: [400, 'The OP does not support use of the request parameter.'],
  request_uri_not_supported: [400, 'The OP does not support use of the request_uri parameter.'],
  registration_not_supported: [400, 'The OP does not support use of the registration parameter.'],
  server_error: [500, 'The authorization server encountered an unexpected condition that prevented it from fulfilling the request.'],
}

export type FositeErrorName = keyof typeof FOSITE & string

/** fosite's error `name` with `hint` appended to its description (double quotes become single, as fosite does). */
export function fositeError(name: FositeErrorName, hint?: string): OAuthError {
  const [status, description] = FOSITE[name]!
  const text = hint === undefined || hint === '' ? description : `${description} ${hint}`
  return new OAuthError(status, name, text.replaceAll('"', "'"))
}

/**
 * Where an authorization error may be sent: the client's own redirect URI, once the client and
 * that URI are known to belong together (fosite's IsRedirectURIValid). Without one, the error
 * goes to `urls.error` instead, so an attacker cannot use the server as an open redirector.
 */
export interface ErrorTarget {
  readonly redirect_uri: string
  readonly response_mode: 'query' | 'fragment' | 'form_post'
  readonly state: string
}

/** An error of the authorization endpoint, with where it may be delivered (absent: urls.error). */
export class AuthorizeError extends OAuthError {
  constructor(
    err: OAuthError,
    readonly target: ErrorTarget | undefined,
  ) {
    super(err.status, err.error, err.description, err.headers)
    this.name = 'AuthorizeError'
  }
}

/** Hydra's `x.ErrNotFound`, as its admin API answers an unknown or undecodable challenge. */
export function challengeNotFound(): OAuthError {
  return new OAuthError(404, 'Not Found', 'Unable to locate the requested resource')
}

/** Hydra's `x.ErrConflict` with its hint (v2.1): a decision on a request whose verifier was already used. */
export function requestAlreadyUsed(kind: 'login' | 'consent'): OAuthError {
  return new OAuthError(
    409,
    'Conflict',
    `Unable to process the requested resource because of conflict in the current state The ${kind} request was already used and can no longer be changed.`,
  )
}
