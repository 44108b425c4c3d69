import type { JWK } from 'jose'
import type { KeyPublisher } from '../types.js'

/**
 * The gateway's `/.well-known/jwks.json`: the public keys of every id_token signer in use (duplicates
 * removed), as Oathkeeper serves them. Signers whose set cannot be loaded are left out; when there
 * are signers and none can be loaded, this rejects (the API answers 500, as Oathkeeper does).
 */
export async function publishedJwks(publishers: Iterable<KeyPublisher>): Promise<{ keys: JWK[] }> {
  const results = await Promise.allSettled([...publishers].map((p) => p.publicKeys()))
  const keys: JWK[] = []
  const seen = new Set<string>()
  for (const r of results) {
    if (r.status !== 'fulfilled') continue
    for (const k of r.value) {
      const text = JSON.stringify(k)
      if (seen.has(text)) continue
      seen.add(text)
      keys.push(k)
    }
  }
  const first = results[0]
  if (first !== undefined && first.status === 'rejected' && results.every((r) => r.status === 'rejected')) throw first.reason
  return { keys }
}
