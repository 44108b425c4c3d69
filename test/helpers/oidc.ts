import { createHash, randomBytes } from 'node:crypto'
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose'
import type { GrantedAuthorization } from '../../src/token-server/oidc/authorization.js'
import { newGrantId } from '../../src/token-server/tokens/grant-id.js'
import { basic, call, type Answer, type RunningTokenServer } from './token-server.js'

export const REDIRECT = 'https://app.example.test/callback'

/** A confidential client allowed the code and refresh grants; `over` replaces fields. */
export async function createOidcClient(s: RunningTokenServer, over: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const body = {
    client_id: `app-${randomBytes(4).toString('hex')}`,
    client_secret: 'app-secret-0123',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code', 'id_token', 'token'],
    redirect_uris: [REDIRECT],
    scope: 'openid offline_access offline profile email',
    ...over,
  }
  const created = await call('POST', `${s.adminUrl}/admin/clients`, { json: body })
  if (created.status !== 201) throw new Error(`client not created: ${JSON.stringify(created.body)}`)
  return { id: body.client_id, secret: String(body.client_secret ?? '') }
}

/** An RFC 7636 verifier and its S256 challenge, computed here, independently of the server. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** What login and consent would hand over for `clientId`; `over` and `request` replace fields. */
export function granted(clientId: string, over: Partial<GrantedAuthorization> = {}, request: Partial<GrantedAuthorization['request']> = {}): GrantedAuthorization {
  const now = Math.floor(Date.now() / 1000)
  return {
    request: {
      client_id: clientId,
      redirect_uri: REDIRECT,
      redirect_uri_given: true,
      response_types: ['code'],
      response_mode: 'query',
      scope: ['openid', 'offline_access'],
      audience: [],
      state: 'state-0123456789',
      nonce: 'nonce-0123456789',
      prompt: [],
      acr_values: [],
      ui_locales: [],
      request_url: `https://auth.example.test/oauth2/auth?client_id=${clientId}`,
      requested_at: now - 5,
      ...request,
    },
    grant_id: newGrantId(),
    subject: 'alice',
    granted_scope: ['openid', 'offline_access'],
    granted_audience: [],
    session: { access_token: { role: 'reader' }, id_token: { email: 'alice@example.test' } },
    auth_time: now - 10,
    acr: 'urn:example:pwd',
    amr: ['pwd'],
    sid: `sid-${randomBytes(4).toString('hex')}`,
    consent_challenge: `consent-${randomBytes(4).toString('hex')}`,
    ...over,
  }
}

/** The issuer's answer for a granted authorization (what the flow would send to the redirect URI). */
export function authorize(s: RunningTokenServer, g: GrantedAuthorization): Promise<Record<string, string>> {
  return s.server.context.authorizationIssuer.issue(g)
}

/** POST /oauth2/token as a confidential client (HTTP Basic), or public (`secret` ''). */
export function token(s: RunningTokenServer, client: { id: string; secret: string }, form: Record<string, string>): Promise<Answer> {
  if (client.secret === '') return call('POST', `${s.publicUrl}/oauth2/token`, { form: { client_id: client.id, ...form } })
  return call('POST', `${s.publicUrl}/oauth2/token`, { form, headers: basic(client.id, client.secret) })
}

export function exchange(s: RunningTokenServer, client: { id: string; secret: string }, code: string, verifier?: string): Promise<Answer> {
  return token(s, client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, ...(verifier === undefined ? {} : { code_verifier: verifier }) })
}

export async function introspect(s: RunningTokenServer, t: string): Promise<Record<string, unknown>> {
  return (await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: t } })).body as Record<string, unknown>
}

/** Verifies an ID token against the server's published JWKS, as a relying party would. */
export async function verifyIdToken(s: RunningTokenServer, jwt: string, audience: string): Promise<JWTPayload & Record<string, unknown>> {
  const jwks = createRemoteJWKSet(new URL(`${s.publicUrl}/.well-known/jwks.json`))
  const { payload } = await jwtVerify(jwt, jwks, { issuer: s.server.context.issuer, audience })
  return payload as JWTPayload & Record<string, unknown>
}

/** OpenID Connect Core §3.1.3.6: left half of SHA-256, base64url (for RS256/ES256/PS256). */
export function halfSha256(value: string): string {
  const d = createHash('sha256').update(value).digest()
  return d.subarray(0, 16).toString('base64url')
}
