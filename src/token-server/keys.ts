import { randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'
import type { KeyRecord, Store } from './store/types.js'

/** Hydra's key set names: JWT access tokens are signed with the newest key of this set. */
export const ACCESS_TOKEN_SET = 'hydra.jwt.access-token'
export const ID_TOKEN_SET = 'hydra.openid.id-token'
/** The sets whose public keys /.well-known/jwks.json publishes (Hydra's broadcast_keys). */
export const PUBLISHED_SETS = [ACCESS_TOKEN_SET, ID_TOKEN_SET] as const

export const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'EdDSA'] as const
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number]

/** A usable signing or verification key. */
export interface LoadedKey {
  readonly kid: string
  readonly alg: string
  /** Private key: signs. */
  readonly key: CryptoKey | Uint8Array
  /** Public key: verifies. */
  readonly publicKey: CryptoKey | Uint8Array
}

/** Private JWK members, by key type: what must be removed to publish a key. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

export function publicPart(jwk: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(jwk)) if (!PRIVATE_MEMBERS.includes(k)) out[k] = v
  return out
}

/**
 * Key sets kept in the store (so every token-server instance signs and verifies with the same
 * keys) with imported keys cached per process. Changes made through this instance refresh the
 * cache at once; another instance's changes are picked up when a token names an unknown kid, or
 * after `refreshMs`.
 */
export class KeyManager {
  readonly #cache = new Map<string, { at: number; keys: LoadedKey[]; records: KeyRecord[] }>()

  constructor(
    private readonly store: Store,
    private readonly refreshMs = 30_000,
  ) {}

  /** Generates a key pair, stores it and returns its record. */
  async generate(set: string, alg: SigningAlgorithm, kid: string = randomUUID(), use = 'sig'): Promise<KeyRecord> {
    const { privateKey } = await generateKeyPair(alg, { extractable: true })
    const jwk = { ...(await exportJWK(privateKey)), kid, alg, use }
    return this.put(set, jwk)
  }

  /** Stores a given private (or symmetric) JWK; its kid, alg and use must be set by the caller. */
  async put(set: string, jwk: Readonly<Record<string, unknown>>): Promise<KeyRecord> {
    const record: KeyRecord = { set, kid: String(jwk.kid), private_jwk: jwk, public_jwk: publicPart(jwk), created_at: Date.now() }
    await this.store.insertKey(record)
    this.#cache.delete(set)
    return record
  }

  async delete(set: string, kid?: string): Promise<number> {
    const n = await this.store.deleteKeys(set, kid)
    this.#cache.delete(set)
    return n
  }

  async records(set: string): Promise<KeyRecord[]> {
    return (await this.#load(set, false)).records
  }

  /** The newest key of the set, created with `alg` when the set is empty. */
  async signingKey(set: string, alg: SigningAlgorithm): Promise<LoadedKey> {
    let loaded = await this.#load(set, false)
    if (loaded.keys.length === 0) {
      await this.generate(set, alg)
      loaded = await this.#load(set, true)
    }
    return loaded.keys[0]!
  }

  /** The key with this kid, reloading the set once when it is not known (rotation elsewhere). */
  async verificationKey(set: string, kid: string): Promise<LoadedKey | undefined> {
    const cached = (await this.#load(set, false)).keys.find((k) => k.kid === kid)
    if (cached !== undefined) return cached
    return (await this.#load(set, true)).keys.find((k) => k.kid === kid)
  }

  async #load(set: string, force: boolean): Promise<{ keys: LoadedKey[]; records: KeyRecord[] }> {
    const hit = this.#cache.get(set)
    if (hit !== undefined && !force && Date.now() - hit.at < this.refreshMs) return hit
    const records = await this.store.listKeys(set)
    const keys: LoadedKey[] = []
    for (const r of records) {
      const alg = typeof r.private_jwk.alg === 'string' ? r.private_jwk.alg : undefined
      if (alg === undefined) continue
      try {
        keys.push({
          kid: r.kid,
          alg,
          key: await importJWK(r.private_jwk as JWK, alg),
          publicKey: await importJWK(r.public_jwk as JWK, alg),
        })
      } catch {
        // A key put through the admin API that cannot sign (wrong alg for its kty, say) is kept
        // and listed, but never used: one bad key must not take the whole set down.
      }
    }
    const entry = { at: Date.now(), keys, records }
    this.#cache.set(set, entry)
    return entry
  }
}
