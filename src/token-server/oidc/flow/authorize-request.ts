/**
 * Parsing and validating an authorization request (RFC 6749 §4.1.1, §4.2.1; OpenID Connect Core
 * §3.1.2.1, §3.2.2.1, §3.3.2.1; RFC 7636), in fosite's order and words (NewAuthorizeRequest, then
 * the checks its response-type handlers make). Until the redirect URI is known to be the
 * client's, an error carries no target and goes to `urls.error`; after that, back to the client.
 * Unlike Hydra, which runs its response-type handlers (PKCE, nonce) only after login and
 * consent, every check is made here, before the user is asked anything.
 */
import { checkAudience } from '../../audience.js'
import { clientGrantTypes, clientList, clientScopes } from '../../client.js'
import type { TokenServerContext } from '../../context.js'
import { OAuthError } from '../../oauth-error.js'
import type { ClientRecord } from '../../store/types.js'
import type { AuthorizationRequest } from '../authorization.js'
import { AuthorizeError, fositeError, type ErrorTarget } from './errors.js'
import type { FlowSettings } from './settings.js'

/** fosite's minimum parameter entropy (`state`, `nonce`). */
const MIN_ENTROPY = 8
const RESPONSE_MODES = ['query', 'fragment', 'form_post'] as const
/** What issuance serves: code, implicit and hybrid flows (fosite's handlers). */
const SUPPORTED_RESPONSE_TYPES = ['code', 'token', 'id_token', 'id_token token', 'code id_token', 'code token', 'code id_token token'].map(sorted)
/** Hydra's prompts (`registration` sends the user to urls.registration, which is not served). */
const PROMPTS = ['none', 'login', 'consent', 'select_account']
/** Parameters that must not repeat (RFC 6749 §3.1); `audience` may (fosite's GetAudiences). */
const SINGLE = ['client_id', 'response_type', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method', 'prompt', 'max_age', 'response_mode', 'login_verifier', 'consent_verifier']

export interface ValidatedAuthorization {
  readonly request: AuthorizationRequest
  readonly client: ClientRecord
  /** Where errors found from now on go. */
  readonly target: ErrorTarget
}

/** Splits on spaces, dropping empties (fosite's RemoveEmpty(strings.Split(…, " "))). */
export function words(v: string | null | undefined): string[] {
  return (v ?? '').split(' ').filter((s) => s !== '')
}

function sorted(v: string): string {
  return words(v).sort().join(' ')
}

export async function validateAuthorizeRequest(
  ctx: TokenServerContext,
  settings: FlowSettings,
  params: URLSearchParams,
  requestUrl: string,
  now: number,
): Promise<ValidatedAuthorization> {
  for (const name of SINGLE) {
    if (params.getAll(name).length > 1) throw new AuthorizeError(fositeError('invalid_request', `The parameter '${name}' is included more than once.`), undefined)
  }
  const state = params.get('state') ?? ''
  const fail = (err: OAuthError, target?: ErrorTarget): never => {
    throw new AuthorizeError(err, target)
  }
  const clientId = params.get('client_id') ?? ''
  const client = clientId === '' ? undefined : await ctx.store.getClient(clientId)
  if (client === undefined) return fail(fositeError('invalid_client', 'The requested OAuth 2.0 Client does not exist.'))

  const hasRequest = (params.get('request') ?? '') !== ''
  const hasRequestUri = (params.get('request_uri') ?? '') !== ''
  if (hasRequest && hasRequestUri) fail(fositeError('invalid_request', "OpenID Connect parameters 'request' and 'request_uri' were both given, but you can use at most one."))
  if (hasRequestUri) fail(fositeError('request_uri_not_supported', "OpenID Connect 'request_uri' context was given, but the OAuth 2.0 Client does not implement advanced OpenID Connect capabilities."))
  if (hasRequest) fail(fositeError('request_not_supported', "OpenID Connect 'request' context was given, but the OAuth 2.0 Client does not implement advanced OpenID Connect capabilities."))

  const rawMode = params.get('response_mode') ?? ''
  if (rawMode !== '' && !(RESPONSE_MODES as readonly string[]).includes(rawMode)) {
    fail(fositeError('unsupported_response_mode', `Request with unsupported response_mode '${rawMode}'.`))
  }
  const scope = words(params.get('scope'))
  const rawRedirect = params.get('redirect_uri') ?? ''
  if (rawRedirect === '' && scope.includes('openid')) fail(fositeError('invalid_request', "The 'redirect_uri' parameter is required when using OpenID Connect 1.0."))
  const redirectUri = matchRedirectUri(rawRedirect, clientList(client, 'redirect_uris'))
  if (redirectUri === undefined) fail(fositeError('invalid_request', "The 'redirect_uri' parameter does not match any of the OAuth 2.0 Client's pre-registered redirect urls."))
  // From here on the client's own redirect URI is known: errors go back there.
  let target: ErrorTarget = { redirect_uri: redirectUri!, response_mode: rawMode === '' ? 'query' : (rawMode as ErrorTarget['response_mode']), state }
  const refuse = (err: OAuthError): never => fail(err, target)

  const allowed = clientScopes(client)
  for (const s of scope) {
    if (!ctx.scopeStrategy(allowed, s)) refuse(fositeError('invalid_scope', `The OAuth 2.0 Client is not allowed to request scope '${s}'.`))
  }
  const audienceValues = params.getAll('audience')
  const audience = audienceValues.length > 1 ? audienceValues.filter((a) => a !== '') : words(audienceValues[0])
  try {
    checkAudience(clientList(client, 'audience'), audience)
  } catch (err) {
    if (err instanceof OAuthError) refuse(fositeError('invalid_request', err.description))
    throw err
  }
  if ((params.get('registration') ?? '') !== '') refuse(fositeError('registration_not_supported'))

  const rawTypes = params.get('response_type') ?? ''
  const responseTypes = words(rawTypes)
  if (responseTypes.length === 0) refuse(fositeError('unsupported_response_type', "`The request is missing the 'response_type' parameter."))
  const registered = Array.isArray(client.data.response_types) && client.data.response_types.length > 0 ? (client.data.response_types as string[]) : ['code']
  if (!registered.some((t) => sorted(t) === sorted(rawTypes))) {
    refuse(fositeError('unsupported_response_type', `The client is not allowed to request response_type '${rawTypes}'.`))
  }
  const mode: ErrorTarget['response_mode'] = rawMode !== '' ? target.response_mode : responseTypes.length === 1 && responseTypes[0] === 'code' ? 'query' : 'fragment'
  target = { ...target, response_mode: mode }
  if (state.length < MIN_ENTROPY) refuse(fositeError('invalid_state', `Request parameter 'state' must be at least be ${MIN_ENTROPY} characters long to ensure sufficient entropy.`))

  if (!SUPPORTED_RESPONSE_TYPES.includes(sorted(rawTypes))) refuse(fositeError('unsupported_response_type', `The response_type '${rawTypes}' is not supported.`))
  // RFC 6749 §4.2.2, OAuth 2.0 Multiple Response Types §5: tokens never travel in a query string.
  if (rawMode === 'query' && responseTypes.some((t) => t !== 'code')) {
    refuse(fositeError('invalid_request', "Insecure response_mode 'query' for a response_type that returns tokens in the redirect URI."))
  }
  const grants = clientGrantTypes(client)
  if (responseTypes.includes('code') && !grants.includes('authorization_code')) {
    refuse(fositeError('unauthorized_client', "The OAuth 2.0 Client is not allowed to use authorization grant 'authorization_code'."))
  }
  if ((responseTypes.includes('token') || responseTypes.includes('id_token')) && !grants.includes('implicit')) {
    refuse(fositeError('invalid_grant', "The OAuth 2.0 Client is not allowed to use the authorization grant 'implicit'."))
  }
  if (responseTypes.includes('id_token') && !scope.includes('openid')) {
    refuse(fositeError('invalid_scope', "The scope 'openid' is required for response_type 'id_token'."))
  }
  const nonce = params.get('nonce') ?? ''
  if (responseTypes.includes('id_token') && nonce === '') {
    refuse(fositeError('invalid_request', responseTypes.includes('code')
      ? "Parameter 'nonce' must be set when requesting an ID Token using the OpenID Connect Hybrid Flow."
      : "Parameter 'nonce' must be set when using the OpenID Connect Implicit Flow."))
  }
  if (nonce !== '' && nonce.length < MIN_ENTROPY && responseTypes.some((t) => t !== 'code')) {
    refuse(fositeError('insufficient_entropy', `Parameter 'nonce' is set but does not satisfy the minimum entropy of ${MIN_ENTROPY} characters.`))
  }

  const challenge = params.get('code_challenge') ?? ''
  const method = params.get('code_challenge_method') ?? ''
  const isPublic = client.data.token_endpoint_auth_method === 'none'
  if (responseTypes.includes('code')) {
    if (challenge === '') {
      if (settings.pkceEnforced) refuse(fositeError('invalid_request', 'Clients must include a code_challenge when performing the authorize code flow, but it is missing.'))
      if (settings.pkceEnforcedForPublic && isPublic) refuse(fositeError('invalid_request', 'This client must include a code_challenge when performing the authorize code flow, but it is missing.'))
    } else if (method === 'plain' || method === '') {
      // Hydra never enables fosite's plain method.
      refuse(fositeError('invalid_request', 'Clients must use code_challenge_method=S256, plain is not allowed.'))
    } else if (method !== 'S256') {
      refuse(fositeError('invalid_request', 'The code_challenge_method is not supported, use S256 instead.'))
    } else if (!/^[A-Za-z0-9._~-]{43,128}$/.test(challenge)) {
      refuse(fositeError('invalid_request', 'The code_challenge must be 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~" (RFC 7636 §4.2).'))
    }
  }

  // fosite's authorize code handler, with Hydra's checker: only for response_type=code exactly.
  if (responseTypes.length === 1 && responseTypes[0] === 'code' && !isRedirectSecure(settings, redirectUri!)) {
    refuse(fositeError('invalid_request', "Redirect URL is using an insecure protocol, http is only allowed for hosts with suffix 'localhost', for example: http://myapp.localhost/."))
  }

  const prompt = words(params.get('prompt'))
  const unknown = prompt.find((p) => !PROMPTS.includes(p))
  if (unknown !== undefined) refuse(fositeError('invalid_request', `Used unknown value '${params.get('prompt')}' for prompt parameter`))
  if (prompt.includes('none') && prompt.length > 1) refuse(fositeError('invalid_request', "Parameter 'prompt' was set to 'none', but contains other values as well which is not allowed."))
  if (prompt.includes('none') && isPublic && !isRedirectSecure(settings, redirectUri!)) {
    refuse(fositeError('consent_required', "OAuth 2.0 Client is marked public and redirect uri is not considered secure (https missing), but 'prompt=none' was requested."))
  }
  const rawMaxAge = params.get('max_age') ?? ''
  if (rawMaxAge !== '' && !/^\d{1,10}$/.test(rawMaxAge)) refuse(fositeError('invalid_request', "Parameter 'max_age' must be a non-negative integer."))

  const opt = (name: string): string | undefined => {
    const v = params.get(name)
    return v === null || v === '' ? undefined : v
  }
  const request: AuthorizationRequest = {
    client_id: client.client_id,
    redirect_uri: redirectUri!,
    redirect_uri_given: rawRedirect !== '',
    response_types: responseTypes,
    response_mode: mode,
    scope,
    audience,
    state,
    nonce: opt('nonce'),
    code_challenge: challenge === '' ? undefined : challenge,
    code_challenge_method: challenge === '' ? undefined : 'S256',
    prompt,
    max_age: rawMaxAge === '' ? undefined : Number(rawMaxAge),
    acr_values: words(params.get('acr_values')),
    ui_locales: words(params.get('ui_locales')),
    display: opt('display'),
    login_hint: opt('login_hint'),
    id_token_hint: opt('id_token_hint'),
    request_url: requestUrl,
    requested_at: now,
  }
  return { request, client, target }
}

/**
 * fosite's MatchRedirectURIWithClientRedirectURIs: omitted with exactly one registered → that
 * one; otherwise an exact string match, or (RFC 8252 §7.3) an http loopback IP URI that matches
 * a registered one in all but the port. Fragments are never valid.
 */
export function matchRedirectUri(raw: string, registered: readonly string[]): string | undefined {
  if (raw === '') return registered.length === 1 && isValidRedirect(registered[0]!) ? registered[0] : undefined
  if (!URL.canParse(raw)) return undefined
  const requested = new URL(raw)
  for (const r of registered) {
    if (r === raw) return isValidRedirect(r) ? r : undefined
    if (requested.protocol === 'http:' && isLoopbackIp(requested.hostname) && URL.canParse(r)) {
      const reg = new URL(r)
      if (reg.hostname === requested.hostname && reg.pathname === requested.pathname && reg.search === requested.search) return isValidRedirect(raw) ? raw : undefined
    }
  }
  return undefined
}

function isValidRedirect(u: string): boolean {
  return URL.canParse(u) && !u.includes('#') && new URL(u).protocol !== 'javascript:'
}

function isLoopbackIp(host: string): boolean {
  return /^127(\.\d{1,3}){3}$/.test(host) || host === '[::1]'
}

/**
 * Hydra's redirect checker (x.IsRedirectURISecure over fosite's IsRedirectURISecure): anything in
 * development mode; otherwise any scheme but http (https, a native app's custom scheme), and http
 * only to localhost, `*.localhost` or a loopback address.
 */
export function isRedirectSecure(settings: Pick<FlowSettings, 'dev'>, u: string): boolean {
  if (settings.dev) return true
  const url = new URL(u)
  const h = url.hostname
  return url.protocol !== 'http:' || h === 'localhost' || h.endsWith('.localhost') || isLoopbackIp(h)
}
