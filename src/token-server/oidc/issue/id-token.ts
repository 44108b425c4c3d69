import { createHash, randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import { ID_TOKEN_SET, type KeyManager, type LoadedKey } from '../../keys.js'
import type { GrantState } from './grant-state.js'

/** Claims the server sets; `session.id_token` can never override them (as fosite's ToMap). */
const PROTECTED = ['sub', 'iss', 'jti', 'aud', 'iat', 'exp', 'rat', 'nonce', 'at_hash', 'c_hash', 'auth_time', 'acr', 'amr', 'sid']

/**
 * The ID token claims of a grant as Hydra's session holds them (consent time): userinfo answers
 * these, less what only an ID token carries.
 */
export function sessionClaims(state: GrantState, issuer: string): Record<string, unknown> {
  const claims: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(state.id_ext)) if (!PROTECTED.includes(k)) claims[k] = v
  claims.sub = state.id_subject
  claims.iss = issuer
  claims.aud = [state.client_id]
  claims.iat = state.issued_at
  if (state.requested_at > 0) claims.rat = state.requested_at
  if (state.auth_time > 0) claims.auth_time = state.auth_time
  // fosite: acr_values asked for and no acr given → "0", the least confidence.
  const acr = state.acr !== '' ? state.acr : state.acr_requested ? '0' : ''
  if (acr !== '') claims.acr = acr
  if (state.amr.length > 0) claims.amr = [...state.amr]
  if (state.nonce !== undefined && state.nonce !== '') claims.nonce = state.nonce
  claims.sid = state.sid
  return claims
}

export interface IdTokenInput {
  readonly state: GrantState
  readonly issuer: string
  readonly lifespanSeconds: number
  /** The access token issued alongside (→ at_hash). */
  readonly accessToken?: string | undefined
  /** The code issued alongside (→ c_hash, hybrid flows). */
  readonly code?: string | undefined
}

/**
 * Signs an ID token (OpenID Connect Core §2) with the newest key of `hydra.openid.id-token`,
 * its `kid` in the header, as Hydra does. `at_hash` / `c_hash`: the left half of the hash of the
 * token or code, with the hash of the signing algorithm (§3.3.2.11).
 */
export async function signIdToken(keys: KeyManager, input: IdTokenInput): Promise<string> {
  const key = await keys.signingKey(ID_TOKEN_SET, 'RS256')
  const now = Math.floor(Date.now() / 1000)
  const claims = sessionClaims(input.state, input.issuer)
  claims.iat = now
  claims.exp = now + input.lifespanSeconds
  claims.jti = randomUUID()
  if (input.accessToken !== undefined) claims.at_hash = halfHash(key, input.accessToken)
  if (input.code !== undefined) claims.c_hash = halfHash(key, input.code)
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.key)
}

/** Signs userinfo claims (`userinfo_signed_response_alg: RS256`) with the ID token key, as Hydra. */
export async function signUserinfo(keys: KeyManager, claims: Record<string, unknown>): Promise<string> {
  const key = await keys.signingKey(ID_TOKEN_SET, 'RS256')
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.key)
}

/** SHA-256 unless the algorithm names 384 or 512 bits (fosite's rule; EdDSA takes SHA-256). */
export function halfHash(key: Pick<LoadedKey, 'alg'>, value: string): string {
  const bits = key.alg.slice(2)
  const algorithm = bits === '384' ? 'sha384' : bits === '512' ? 'sha512' : 'sha256'
  const digest = createHash(algorithm).update(value).digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}
