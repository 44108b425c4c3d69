import type { IncomingMessage } from 'node:http'
import type { TokenServerContext } from '../context.js'
import { invalidClient, invalidRequest, OAuthError, tooManyFailures } from '../oauth-error.js'
import type { ClientRecord } from '../store/types.js'

const AUTH_FAILED = 'Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method).'

/**
 * Authenticates the client of a token or revocation request (RFC 6749 §2.3): HTTP Basic
 * (`client_secret_basic`, id and secret form-URL-decoded first, §2.3.1) or form parameters
 * (`client_secret_post`), never both, and only by the method the client is registered with.
 * Every failure is the same 401 invalid_client, so the answer does not say whether a client exists.
 */
export async function authenticateClient(ctx: TokenServerContext, req: IncomingMessage, form: URLSearchParams, endpoint: 'token' | 'revoke'): Promise<ClientRecord> {
  try {
    return await authenticate(ctx, req, form)
  } catch (err) {
    if (err instanceof OAuthError && err.error === 'invalid_client') ctx.metrics.clientAuthFailures.inc({ endpoint })
    throw err
  }
}

async function authenticate(ctx: TokenServerContext, req: IncomingMessage, form: URLSearchParams): Promise<ClientRecord> {
  const basic = parseBasic(req.headers.authorization)
  const formId = form.get('client_id')
  const formSecret = form.get('client_secret')
  if (basic !== undefined && formSecret !== null) {
    throw invalidRequest('The client used more than one authentication method (HTTP Basic and client_secret in the body).')
  }
  if (basic !== undefined && formId !== null && formId !== basic.id) {
    throw invalidRequest('The client_id in the body does not match the one in the Authorization header.')
  }
  const method = basic !== undefined ? 'client_secret_basic' : formSecret !== null ? 'client_secret_post' : 'none'
  const id = basic?.id ?? formId
  if (id === null || id === '') throw invalidClient(AUTH_FAILED, basic !== undefined)
  const secret = basic?.secret ?? formSecret ?? ''
  if (id.includes('\u0000') || secret.includes('\u0000')) throw invalidClient(AUTH_FAILED, basic !== undefined)

  const client = await ctx.store.getClient(id)
  // A secret already verified against the current hash skips the limiter: the real owner of a
  // client id under attack keeps working. Everyone else is checked before any hashing.
  const address = req.socket.remoteAddress ?? ''
  const known = client?.secret_hash != null && method !== 'none' && ctx.secrets.known(id, secret, client.secret_hash)
  if (!known) {
    const wait = ctx.limiter.retryAfter(id, address)
    if (wait > 0) throw tooManyFailures(wait)
  }
  const failed = (err: OAuthError): OAuthError => {
    ctx.limiter.fail(id, address)
    return err
  }
  if (client === undefined) throw failed(invalidClient(AUTH_FAILED, basic !== undefined))
  const registered = String(client.data.token_endpoint_auth_method ?? 'client_secret_basic')
  // A public client is identified by its id alone, wherever it sends it: as fosite, an empty
  // secret (HTTP Basic `id:`, or `client_secret=` in the body) is no authentication, not a wrong one.
  if (registered === 'none' && secret === '') return client
  if (registered !== method) {
    throw failed(
      invalidClient(
        `The OAuth 2.0 Client supports client authentication method '${registered}', but method '${method}' was requested. ` +
          `You must configure the OAuth 2.0 client's 'token_endpoint_auth_method' value to accept '${method}'.`,
        basic !== undefined,
      ),
    )
  }
  if (known) return client
  if (client.secret_hash === null || !(await ctx.secrets.verify(client.client_id, secret, client.secret_hash))) {
    throw failed(invalidClient(AUTH_FAILED, basic !== undefined))
  }
  return client
}

/** `Basic base64(urlencode(id):urlencode(secret))`; undefined when there is no Basic header. */
function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  if (header === undefined) return undefined
  const space = header.indexOf(' ')
  if (space === -1 || header.slice(0, space).toLowerCase() !== 'basic') return undefined
  const decoded = Buffer.from(header.slice(space + 1).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) throw invalidClient('The Authorization header is not valid HTTP Basic credentials.', true)
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) }
  } catch {
    throw invalidClient('The client credentials in the Authorization header are not valid form-URL-encoding.', true)
  }
}

function formDecode(s: string): string {
  return decodeURIComponent(s.replaceAll('+', ' '))
}
