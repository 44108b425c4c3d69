/**
 * Which key may check (or make) which signature. The key type always comes from the key set,
 * never from the token: a token saying `alg: HS256` cannot turn an RSA public key into an HMAC
 * secret, and `alg: none` is not an algorithm here at all.
 */
import { importJWK, type CryptoKey, type JWK } from 'jose'
import type { RawJwk } from './document.js'

/** JWS algorithms (RFC 7518 §3.1, without "none"; RFC 8037 EdDSA) the `jwt` authenticator can verify. */
export const JWS_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512',
] as const
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number]

const EC_CURVES: Readonly<Record<string, string>> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }

/** True when a key of this type (and curve) can be used with `alg`. */
export function keyFitsAlg(jwk: RawJwk, alg: string): boolean {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return jwk.kty === 'RSA'
  if (alg.startsWith('ES')) return jwk.kty === 'EC' && jwk.crv === EC_CURVES[alg]
  if (alg === 'EdDSA') return jwk.kty === 'OKP' && jwk.crv === 'Ed25519'
  if (alg.startsWith('HS')) return jwk.kty === 'oct'
  return false
}

/** The usual algorithm of a key without `alg`: what generators (and Oathkeeper's) assign by default. */
export function defaultAlg(jwk: RawJwk): string | undefined {
  if (jwk.kty === 'RSA') return 'RS256'
  if (jwk.kty === 'EC') return Object.keys(EC_CURVES).find((a) => EC_CURVES[a] === jwk.crv)
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA'
  return undefined
}

/** Private members of asymmetric JWKs (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2). */
const PRIVATE_MEMBERS: ReadonlySet<string> = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'])

/**
 * The public part of an asymmetric key: what may be published. Also drops `key_ops` and `ext`,
 * which describe the private key (e.g. `["sign"]`) and would make importing it for verification
 * fail. Undefined for symmetric (`oct`) keys, which have no public part.
 */
export function publicJwk(jwk: RawJwk): JWK | undefined {
  if (jwk.kty === 'oct') return undefined
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(jwk)) if (!PRIVATE_MEMBERS.has(k) && k !== 'key_ops' && k !== 'ext') out[k] = v
  return out as JWK
}

/** True when the JWK carries private key material (an asymmetric private key). */
export function isPrivateJwk(jwk: RawJwk): boolean {
  return jwk.kty !== 'oct' && typeof jwk.d === 'string'
}

/** One verification key of a set, imported lazily once per algorithm. */
export class VerificationKey {
  readonly #jwk: JWK
  readonly #imported = new Map<string, Promise<CryptoKey | Uint8Array>>()
  /**
   * Set once a refetched set no longer holds this key (or its source was dropped): what it
   * verified must not be trusted any more (the jwt authenticator's verified-token cache asks).
   */
  retired = false

  constructor(readonly raw: RawJwk) {
    // Verification needs only the public part, even when the set holds private keys (e.g. the
    // same file an id_token mutator signs with); an HMAC key is its own verification key.
    this.#jwk = raw.kty === 'oct' ? stripOps(raw) : (publicJwk(raw) as JWK)
  }

  /** The key's members as published, in a canonical text: equal for the same key in a refetched set. */
  get fingerprint(): string {
    return canonicalJson(this.raw)
  }

  get kid(): string | undefined {
    return typeof this.raw.kid === 'string' ? this.raw.kid : undefined
  }

  /** May this key check a signature made with `alg`? (`use`, `alg` and key type all agree.) */
  usableFor(alg: string): boolean {
    const { use, alg: own } = this.raw
    return (use === undefined || use === 'sig') && (own === undefined || own === alg) && keyFitsAlg(this.raw, alg)
  }

  /** The imported key; memoised, so the request path imports each key once. Rejects for unusable key material. */
  key(alg: string): Promise<CryptoKey | Uint8Array> {
    let p = this.#imported.get(alg)
    if (p === undefined) {
      p = importJWK(this.#jwk, alg)
      this.#imported.set(alg, p)
    }
    return p
  }
}

function stripOps(jwk: RawJwk): JWK {
  const { key_ops: _ops, ext: _ext, ...rest } = jwk
  return rest as JWK
}

/** A fetched key set, indexed by kid for the request path. */
export class KeySet {
  readonly #all: readonly VerificationKey[]
  readonly #byKid = new Map<string, VerificationKey[]>()

  /**
   * @param previous the set this one replaces: a key published in both (same JWK members) is
   * carried over, keeping its imported key and what it verified; the keys it lost are retired.
   */
  constructor(jwks: readonly RawJwk[], previous?: KeySet) {
    const kept = new Map<string, VerificationKey>()
    if (previous !== undefined) for (const k of previous.#all) kept.set(k.fingerprint, k)
    this.#all = jwks.map((raw) => {
      const k = new VerificationKey(raw)
      const same = kept.get(k.fingerprint)
      if (same === undefined) return k
      kept.delete(k.fingerprint)
      return same
    })
    for (const gone of kept.values()) gone.retired = true
    for (const k of this.#all) {
      const kid = k.kid
      if (kid === undefined) continue
      const list = this.#byKid.get(kid)
      if (list === undefined) this.#byKid.set(kid, [k])
      else list.push(k)
    }
  }

  get size(): number {
    return this.#all.length
  }

  /** Retires every key: the set is no longer used (its source was dropped). */
  retire(): void {
    for (const k of this.#all) k.retired = true
  }

  /** Keys that may verify a token signed with `alg`: by kid when the token names one, else every fitting key. */
  candidates(kid: string | undefined, alg: string): VerificationKey[] {
    const pool = kid === undefined ? this.#all : (this.#byKid.get(kid) ?? [])
    return pool.filter((k) => k.usableFor(alg))
  }
}

/** JSON with object keys sorted, so that the same JWK published with its members reordered compares equal. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}
