import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Opaque access tokens in Hydra's shape: `<prefix><key>.<signature>`, where key is 256 random
 * bits (base64url) and signature is HMAC-SHA256 over the key with a key derived from the system
 * secret. The store keeps only SHA-256(signature), so a leaked database yields no usable token,
 * and a token not signed with one of our secrets is rejected before any store lookup.
 */
export class OpaqueTokens {
  readonly #signing: Buffer
  /** All secrets' keys: the first signs, the rest still verify (rotation). */
  readonly #verifying: readonly Buffer[]

  /**
   * @param purpose what the tokens are (`access token`, `refresh token`, `authorization code`):
   *   each purpose has its own key, so a refresh token given a `ory_at_` prefix is no access token.
   */
  constructor(
    systemSecrets: readonly string[],
    readonly prefix: string,
    purpose = 'access token',
  ) {
    if (systemSecrets.length === 0) throw new Error('at least one system secret is required')
    // Derived, so the configured secret itself never keys anything directly.
    this.#verifying = systemSecrets.map((s) => createHash('sha256').update(`gatehouse opaque ${purpose}\0${s}`).digest())
    this.#signing = this.#verifying[0]!
  }

  /** A new token and the hash under which its record is stored. */
  issue(): { token: string; signatureHash: string } {
    const key = randomBytes(32).toString('base64url')
    const signature = createHmac('sha256', this.#signing).update(key).digest('base64url')
    return { token: `${this.prefix}${key}.${signature}`, signatureHash: hashSignature(signature) }
  }

  /** The signature hash of a well-formed token signed by one of our secrets, else undefined. */
  verify(token: string): string | undefined {
    if (!token.startsWith(this.prefix)) return undefined
    const dot = token.indexOf('.', this.prefix.length)
    // 32 bytes → 43 base64url characters, and so is a SHA-256 HMAC: anything else is not ours.
    if (dot !== this.prefix.length + 43 || token.length !== dot + 44) return undefined
    const key = token.slice(this.prefix.length, dot)
    const signature = token.slice(dot + 1)
    const given = Buffer.from(signature, 'base64url')
    if (given.length !== 32) return undefined
    for (const k of this.#verifying) {
      const expected = createHmac('sha256', k).update(key).digest()
      if (timingSafeEqual(expected, given)) return hashSignature(signature)
    }
    return undefined
  }
}

/** The store key of a token: hex SHA-256 of its signature part. */
export function hashSignature(signature: string): string {
  return createHash('sha256').update(signature).digest('hex')
}
