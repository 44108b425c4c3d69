import { performance } from 'node:perf_hooks'
import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose'
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import { GatehouseError } from '../../../errors.js'
import { parseJwks, readJwksFileSync, readJwksText, type JwksLocation, type RawJwk } from '../../jwks/document.js'
import { defaultAlg, isPrivateJwk, keyFitsAlg, publicJwk } from '../../jwks/keys.js'
import type { Disposable } from '../../shared.js'

/** Shared-resources key prefix of the signers (one per key set URL). */
export const ID_TOKEN_SIGNER_PREFIX = 'id_token:jwks:'

/** The key set is read again this often, so a rotated key file (or URL) is picked up without a restart. */
const REFRESH_MS = 30_000
/** After a failed first load, requests fail fast for this long instead of each retrying the source. */
const FAILURE_BACKOFF_MS = 1_000
const FETCH_TIMEOUT_MS = 10_000

/** What a key set yields: the key that signs, and every public key it publishes. */
interface SigningKeys {
  readonly kid: string | undefined
  readonly alg: string
  readonly key: CryptoKey
  readonly publicKeys: readonly JWK[]
}

/**
 * The signing key of a set: its first asymmetric private key, with the key's `alg` (or the usual
 * one for its type when it has none). Every asymmetric key of the set is published, so a rotation
 * is: put the new key first, keep the old one (private or public) until its tokens expired.
 * @throws Error naming the problem.
 */
export function chooseSigningKey(jwks: readonly RawJwk[]): { jwk: RawJwk; alg: string; publicKeys: JWK[] } {
  const jwk = jwks.find(isPrivateJwk)
  if (jwk === undefined) throw new Error('the key set holds no private RSA, EC or OKP key to sign with')
  const name = typeof jwk.kid === 'string' ? `key "${jwk.kid}"` : 'the first private key'
  const alg = typeof jwk.alg === 'string' ? jwk.alg : defaultAlg(jwk)
  if (alg === undefined) throw new Error(`${name} has no "alg" and its type has no default algorithm`)
  if (!keyFitsAlg(jwk, alg)) throw new Error(`${name}: algorithm "${alg}" cannot be used with a ${jwk.kty} key${typeof jwk.crv === 'string' ? ` (${jwk.crv})` : ''}`)
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new Error(`${name} has "use": ${JSON.stringify(jwk.use)}, not "sig"`)
  const publicKeys = jwks.map(publicJwk).filter((k): k is JWK => k !== undefined)
  return { jwk, alg, publicKeys }
}

/**
 * Signs id_tokens with the first private key of one `jwks_url`, shared by every rule naming that
 * URL and kept across rule reloads. The set is loaded once, then re-read every 30 s in the
 * background (the request never waits for a refresh; a failed refresh keeps the current key).
 */
export class IdTokenSigner implements Disposable {
  readonly #abort = new AbortController()
  #keys: SigningKeys | undefined
  #loadedAt = -Infinity
  #loading: Promise<SigningKeys> | undefined
  #failedAt = -Infinity
  #error: string | undefined

  private constructor(
    readonly location: JwksLocation,
    private readonly http: Dispatcher,
    private readonly logger: Logger,
  ) {}

  /**
   * A signer for `location`. A file is checked here, at rule load, so a missing file or a set
   * without a usable private key is reported with the rule (Error); a URL is fetched in the
   * background, so the first request does not wait.
   */
  static open(location: JwksLocation, deps: { readonly http: Dispatcher; readonly logger: Logger }): IdTokenSigner {
    if (location.kind === 'file') chooseSigningKey(parseJwks(readJwksFileSync(location)))
    const signer = new IdTokenSigner(location, deps.http, deps.logger)
    signer.#load().catch(() => {}) // logged in #load; requests retry
    return signer
  }

  /** A compact JWS of `claims` (header: alg, kid, typ JWT). */
  async sign(claims: Readonly<Record<string, unknown>>): Promise<string> {
    const k = await this.#current()
    const header = k.kid === undefined ? { alg: k.alg, typ: 'JWT' } : { alg: k.alg, kid: k.kid, typ: 'JWT' }
    return new SignJWT({ ...claims }).setProtectedHeader(header).sign(k.key)
  }

  /** The public keys of the set (what `/.well-known/jwks.json` serves); rejects when it cannot be loaded. */
  async publicKeys(): Promise<readonly JWK[]> {
    return (await this.#current()).publicKeys
  }

  dispose(): void {
    this.#abort.abort()
  }

  async #current(): Promise<SigningKeys> {
    const keys = this.#keys
    if (keys !== undefined) {
      if (performance.now() - this.#loadedAt > REFRESH_MS && this.#loading === undefined) this.#load().catch(() => {})
      return keys
    }
    if (this.#loading !== undefined) return this.#loading
    if (performance.now() - this.#failedAt < FAILURE_BACKOFF_MS) throw this.#unavailable()
    return this.#load()
  }

  /** Loads (single-flight); on failure keeps the current keys, if any, and rejects with a 503. */
  #load(): Promise<SigningKeys> {
    if (this.#loading !== undefined) return this.#loading
    const p = (async () => {
      try {
        const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)])
        const { jwk, alg, publicKeys } = chooseSigningKey(parseJwks(await readJwksText(this.location, this.http, signal)))
        const key = (await importJWK(jwk as JWK, alg)) as CryptoKey
        const keys: SigningKeys = { kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, alg, key, publicKeys }
        this.#keys = keys
        this.#error = undefined
        return keys
      } catch (err) {
        this.#error = err instanceof Error ? err.message : String(err)
        this.#failedAt = performance.now()
        if (!this.#abort.signal.aborted) {
          this.logger.warn({ jwks_url: this.location.url, reason: this.#error }, 'id_token: could not load the signing key set')
        }
        throw this.#unavailable()
      } finally {
        // Set on failure too: the next refresh is a full interval away, and the current key keeps signing.
        this.#loadedAt = performance.now()
        this.#loading = undefined
      }
    })()
    this.#loading = p
    return p
  }

  #unavailable(): GatehouseError {
    return new GatehouseError('GATEHOUSE_ERR_UNAVAILABLE', {
      reason: `id_token: the signing keys at ${this.location.url} could not be loaded: ${this.#error ?? 'unknown error'}`,
    })
  }
}
