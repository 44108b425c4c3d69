import { decodeProtectedHeader, errors, jwtVerify } from 'jose'
import { GatehouseError } from '../../../errors.js'
import type { VerificationKey } from '../../jwks/keys.js'
import type { Keyring } from './keyring.js'

/** A token whose signature and times are valid, and the key that showed it. */
export interface Verified {
  readonly claims: Record<string, unknown>
  readonly key: VerificationKey
}

/**
 * The signature and time checks of the `jwt` authenticator, against one rule's keyring and
 * allowed algorithms. Statuses (see jwt.ts): 401 for anything wrong with the token, 503 when no
 * key set could be fetched.
 */
export function compileVerifier(keyring: Keyring, allowed: ReadonlySet<string>): (token: string) => Promise<Verified> {
  return async function verify(token) {
    let alg: unknown
    let kid: unknown
    try {
      ;({ alg, kid } = decodeProtectedHeader(token))
    } catch {
      throw unauthorized('The JSON Web Token is malformed: its header is not valid base64url-encoded JSON.')
    }
    // Checked before any key is looked at: `none` and HS256-with-a-public-key die here (unless HS* is allowed, and then only oct keys fit).
    if (typeof alg !== 'string' || !allowed.has(alg)) {
      throw unauthorized(`JSON Web Token used signing method "${String(alg)}" which is not allowed.`)
    }
    const keyId = typeof kid === 'string' && kid !== '' ? kid : undefined
    const { keys, failed } = await keyring.find(keyId, alg)
    if (keys.length === 0) {
      if (failed.length > 0) {
        throw new GatehouseError('GATEHOUSE_ERR_UNAVAILABLE', { reason: `No JSON Web Key Set could be fetched: ${failed.join('; ')}` })
      }
      throw unauthorized(
        keyId === undefined
          ? `No JSON Web Key for algorithm "${alg}" was found in any of the provided URIs.`
          : `JSON Web Key ID "${keyId}" for algorithm "${alg}" could not be found in any of the provided URIs.`,
      )
    }
    // Several candidates only without a kid: try each, as a signature made by another key is no verdict on this one.
    let last: unknown
    for (const k of keys) {
      let key: Awaited<ReturnType<typeof k.key>>
      try {
        key = await k.key(alg)
      } catch (err) {
        last = new UnusableKey(k.kid, err)
        continue
      }
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: [alg] })
        // jose checks iat only with maxTokenAge; Oathkeeper (golang-jwt WithIssuedAt) refuses a future
        // iat. Whole seconds, as jose compares nbf: a token issued this second is never "in the future".
        if (typeof payload.iat === 'number' && payload.iat > Math.floor(Date.now() / 1000)) throw unauthorized('Token used before issued.')
        return { claims: payload as Record<string, unknown>, key: k }
      } catch (err) {
        if (err instanceof GatehouseError) throw err
        last = err
        if (err instanceof errors.JOSEError && !(err instanceof errors.JWSSignatureVerificationFailed)) break
      }
    }
    throw fromVerifyError(last)
  }
}

function unauthorized(reason: string): GatehouseError {
  return new GatehouseError('GATEHOUSE_ERR_UNAUTHORIZED', { reason })
}

/** Maps what jose (or a key import) threw to a 401 with a reason. */
function fromVerifyError(err: unknown): GatehouseError {
  if (err instanceof errors.JWTExpired) return unauthorized('Token is expired.')
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'nbf') return unauthorized('Token is not valid yet.')
  if (err instanceof errors.JWSSignatureVerificationFailed) return unauthorized('Token signature is invalid.')
  if (err instanceof errors.JOSEError) return unauthorized(`The JSON Web Token is invalid: ${err.message}`)
  if (err instanceof UnusableKey) return unauthorized(err.message)
  return new GatehouseError('GATEHOUSE_ERR_INTERNAL', { reason: err instanceof Error ? err.message : String(err), cause: err })
}

/** A key of the set that cannot be imported (bad key material): the token cannot be verified with it. */
class UnusableKey extends Error {
  constructor(kid: string | undefined, cause: unknown) {
    super(`The JSON Web Key ${kid === undefined ? 'without kid' : `"${kid}"`} cannot be used: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}
