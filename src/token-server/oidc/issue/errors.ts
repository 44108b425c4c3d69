import { OAuthError } from '../../oauth-error.js'

/**
 * fosite's error descriptions, which its hints follow after a space (and in which it writes
 * every `"` as `'`): Hydra users' scripts and tests match these texts.
 */
const INVALID_GRANT =
  'The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.'
const INVALID_REQUEST = 'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.'
const INVALID_SCOPE = 'The requested scope is invalid, unknown, or malformed.'

const describe = (base: string, hint?: string): string => (hint === undefined ? base : `${base} ${hint}`)

/** 400 invalid_grant, fosite's description plus the hint. */
export const invalidGrant = (hint?: string): OAuthError => new OAuthError(400, 'invalid_grant', describe(INVALID_GRANT, hint))
/** 400 invalid_request, fosite's description plus the hint. */
export const fositeInvalidRequest = (hint?: string): OAuthError => new OAuthError(400, 'invalid_request', describe(INVALID_REQUEST, hint))
/** 400 invalid_scope, fosite's description plus the hint. */
export const fositeInvalidScope = (hint?: string): OAuthError => new OAuthError(400, 'invalid_scope', describe(INVALID_SCOPE, hint))
