/**
 * One error type for both token-server APIs, carrying the RFC 6749 §5.2 / RFC 7591 error code,
 * the HTTP status and a description. Handlers throw these; the server turns them into
 * `{"error":…,"error_description":…}` (Hydra's shape). Nothing else thrown reaches a client as
 * anything but a generic 500, so no stack trace or internal message ever leaks.
 */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${error}: ${description}`)
    this.name = 'OAuthError'
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description }
  }
}

export const invalidRequest = (d: string): OAuthError => new OAuthError(400, 'invalid_request', d)
/** 401; a client that tried HTTP Basic is told which scheme to use (RFC 6749 §5.2). */
export const invalidClient = (d: string, basic = false): OAuthError =>
  new OAuthError(401, 'invalid_client', d, basic ? { 'www-authenticate': 'Basic realm="oauth2"' } : {})
export const invalidScope = (d: string): OAuthError => new OAuthError(400, 'invalid_scope', d)
export const unauthorizedClient = (d: string): OAuthError => new OAuthError(400, 'unauthorized_client', d)
export const unsupportedGrantType = (d: string): OAuthError => new OAuthError(400, 'unsupported_grant_type', d)
/**
 * Hydra's client validation errors (client/error.go): a fixed description with the hint appended,
 * double quotes turned into single ones, as fosite's `GetDescription` writes them.
 */
const CLIENT_METADATA_DESCRIPTION =
  "The value of one of the Client Metadata fields is invalid and the server has rejected this request. Note that an Authorization Server MAY choose to substitute a valid value for any requested parameter of a Client's Metadata."
export const invalidClientMetadata = (hint: string): OAuthError =>
  new OAuthError(400, 'invalid_client_metadata', `${CLIENT_METADATA_DESCRIPTION} ${hint}`.replaceAll('"', "'"))
export const invalidRedirectUri = (hint: string): OAuthError =>
  new OAuthError(400, 'invalid_redirect_uri', `The value of one or more redirect_uris is invalid. ${hint}`.replaceAll('"', "'"))
/** Hydra's wording for a missing resource on the admin API. */
export const notFound = (d: string): OAuthError => new OAuthError(404, 'Unable to locate the resource', d)
export const conflict = (d: string): OAuthError => new OAuthError(409, 'Unable to insert or update resource because a resource with that value exists already', d)
export const methodNotAllowed = (allow: string): OAuthError =>
  new OAuthError(405, 'method_not_allowed', `allowed: ${allow}`, { allow })
/** Too many failed client authentications from this client id or address (Gatehouse; RFC 6585 §4). */
export const tooManyFailures = (seconds: number): OAuthError =>
  new OAuthError(429, 'too_many_requests', `Too many failed client authentications; retry after ${seconds} seconds.`, { 'retry-after': String(seconds) })
export const unavailable = (): OAuthError =>
  new OAuthError(503, 'temporarily_unavailable', 'The storage backend is unavailable; try again shortly', { 'retry-after': '1' })
export const serverError = (): OAuthError =>
  new OAuthError(500, 'server_error', 'The authorization server encountered an unexpected condition')
