/**
 * Client-secret hashers. The encoded string says which algorithm made it, so secrets hashed
 * before a change of `oauth2.hashers.algorithm` still verify:
 * - pbkdf2: `$pbkdf2-sha256$i=<iterations>,l=32$<salt b64>$<key b64>` (Hydra's default, 25,000
 *   iterations). Node's crypto.pbkdf2 runs on the libuv thread pool: off the event loop.
 * - bcrypt: `$2b$<cost>$…` via bcryptjs, whose async API yields between rounds.
 */
import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import bcrypt from 'bcryptjs'

const pbkdf2Async = promisify(pbkdf2)
const KEY_LENGTH = 32
const SALT_LENGTH = 16

export interface Hasher {
  hash(secret: string): Promise<string>
  /** False for a wrong secret and for an encoding it does not recognise. */
  verify(secret: string, encoded: string): Promise<boolean>
}

export interface HasherSettings {
  readonly algorithm: 'pbkdf2' | 'bcrypt'
  readonly pbkdf2: { readonly iterations: number }
  readonly bcrypt: { readonly cost: number }
}

export function createHasher(settings: HasherSettings): Hasher {
  return {
    async hash(secret) {
      if (settings.algorithm === 'bcrypt') return bcrypt.hash(secret, settings.bcrypt.cost)
      const salt = randomBytes(SALT_LENGTH)
      const key = await pbkdf2Async(secret, salt, settings.pbkdf2.iterations, KEY_LENGTH, 'sha256')
      return `$pbkdf2-sha256$i=${settings.pbkdf2.iterations},l=${KEY_LENGTH}$${salt.toString('base64')}$${key.toString('base64')}`
    },
    verify,
  }
}

const PBKDF2 = /^\$pbkdf2-sha256\$i=(\d+),l=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/

async function verify(secret: string, encoded: string): Promise<boolean> {
  const m = PBKDF2.exec(encoded)
  if (m !== null) {
    const iterations = Number(m[1])
    const length = Number(m[2])
    // Bounds so a tampered row cannot make one verification run for minutes.
    if (iterations < 1 || iterations > 10_000_000 || length < 16 || length > 64) return false
    const expected = Buffer.from(m[4]!, 'base64')
    if (expected.length !== length) return false
    const key = await pbkdf2Async(secret, Buffer.from(m[3]!, 'base64'), iterations, length, 'sha256')
    return timingSafeEqual(key, expected)
  }
  if (/^\$2[aby]\$\d\d\$/.test(encoded)) return bcrypt.compare(secret, encoded)
  return false
}
