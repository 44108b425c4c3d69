import { createHash, randomBytes, randomInt } from 'node:crypto'

/** What every authorization request of one `perform authorization-code` run shares (the flags). */
export interface RequestSettings {
  readonly clientId: string
  readonly authUrl: URL
  readonly redirectUri: string
  readonly scope: readonly string[]
  readonly audience: readonly string[]
  readonly prompt: readonly string[]
  /** Sent only when >= 0, as Hydra's `--max-age -1` default means "no max_age parameter". */
  readonly maxAge: number
  readonly responseMode?: string | undefined
  /** `--state`: a fixed state (insecure; for scripted tests); else a fresh one per flow. */
  readonly state?: string | undefined
}

/** One authorization request: the URL to open and the secrets its callback is checked against. */
export interface AuthorizationFlow {
  readonly url: string
  readonly state: string
  readonly nonce: string
  /** The PKCE code_verifier (RFC 7636), sent with the code at the token endpoint. */
  readonly codeVerifier: string
}

/**
 * A new authorization request: state and nonce as Hydra's CLI makes them (24 random lowercase
 * letters), plus a PKCE S256 challenge, which Hydra's CLI leaves out but RFC 9700 §2.1.1 asks
 * every client to send; a Hydra-compatible server accepts it from any client.
 */
export function newAuthorization(s: RequestSettings): AuthorizationFlow {
  const state = s.state !== undefined && s.state !== '' ? s.state : lowercaseLetters(24)
  const nonce = lowercaseLetters(24)
  // 32 random bytes → 43 base64url characters, the verifier length RFC 7636 §4.1 recommends.
  const codeVerifier = randomBytes(32).toString('base64url')
  const url = new URL(s.authUrl)
  // Appended, so an --auth-url that carries its own query keeps it (as Go's AuthCodeURL does).
  const q = url.searchParams
  q.set('client_id', s.clientId)
  q.set('response_type', 'code')
  q.set('redirect_uri', s.redirectUri)
  if (s.scope.length > 0) q.set('scope', s.scope.join(' '))
  q.set('state', state)
  q.set('nonce', nonce)
  q.set('code_challenge', createHash('sha256').update(codeVerifier).digest('base64url'))
  q.set('code_challenge_method', 'S256')
  if (s.audience.length > 0) q.set('audience', s.audience.join(' '))
  if (s.prompt.length > 0) q.set('prompt', s.prompt.join(' '))
  if (s.maxAge >= 0) q.set('max_age', String(s.maxAge))
  if (s.responseMode !== undefined && s.responseMode !== '') q.set('response_mode', s.responseMode)
  return { url: url.href, state, nonce, codeVerifier }
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz'

/** `n` letters a–z, each uniformly drawn (randomInt avoids the modulo bias of bytes % 26). */
function lowercaseLetters(n: number): string {
  let out = ''
  for (let i = 0; i < n; i++) out += LOWER[randomInt(LOWER.length)]
  return out
}
