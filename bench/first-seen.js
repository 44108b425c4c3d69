// Distinct JWTs for the `jwt-first-seen` target of bench/run.js: every request carries a token
// the gateway has not seen before, so a cache of verified tokens cannot answer it. See
// bench/README.md.
import { generateKeyPairSync, sign } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

const KID = 'bench-first-seen'

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/**
 * Signs `count` RS256 tokens (2048-bit RSA, as the token server's default key) with the claims of
 * `template` (a token from the token server, so the gateway checks the same claims) and a `jti`
 * of their own, and writes the public key as a JWKS file in `dir` for the rule's `jwks_urls`.
 * Signing is the slow part: about 2,000 tokens a second per core.
 * @param {{ template: string, count: number, dir: string }} opts
 * @returns {{ jwksUrl: string, tokens: string[] }}
 */
export function firstSeenTokens({ template, count, dir }) {
  const claims = JSON.parse(Buffer.from(template.split('.')[1], 'base64url').toString('utf8'))
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const file = join(dir, 'first-seen-jwks.json')
  writeFileSync(file, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }] }))
  const header = b64url({ alg: 'RS256', kid: KID, typ: 'JWT' })
  const tokens = []
  for (let i = 0; i < count; i++) {
    const input = `${header}.${b64url({ ...claims, jti: `${KID}-${i}` })}`
    tokens.push(`${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`)
  }
  return { jwksUrl: `file://${file}`, tokens }
}
