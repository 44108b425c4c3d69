import t from 'tap'
import { createHasher } from '../src/token-server/hash.js'
import { SecretCache } from '../src/token-server/secret-cache.js'
import { OpaqueTokens } from '../src/token-server/tokens/opaque.js'

const settings = { algorithm: 'pbkdf2' as const, pbkdf2: { iterations: 1000 }, bcrypt: { cost: 4 } }

t.test('pbkdf2: encodes its parameters and verifies only the right secret', async (t) => {
  const h = createHasher(settings)
  const encoded = await h.hash('s3cret!')
  t.match(encoded, /^\$pbkdf2-sha256\$i=1000,l=32\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
  t.not(await h.hash('s3cret!'), encoded, 'salted: the same secret hashes differently')
  t.equal(await h.verify('s3cret!', encoded), true)
  t.equal(await h.verify('s3cret', encoded), false)
  t.equal(await h.verify('s3cret!', encoded.replace('i=1000', 'i=99999999')), false, 'absurd parameters are refused, not run')
  t.equal(await h.verify('s3cret!', 'plain'), false)
})

t.test('bcrypt: and hashes of either kind verify whatever the configured algorithm', async (t) => {
  const b = createHasher({ ...settings, algorithm: 'bcrypt' })
  const p = createHasher(settings)
  const encoded = await b.hash('s3cret!')
  t.match(encoded, /^\$2[aby]\$04\$/)
  t.equal(await p.verify('s3cret!', encoded), true, 'switching algorithms keeps old secrets working')
  t.equal(await b.verify('nope', encoded), false)
  t.equal(await b.verify('s3cret!', await p.hash('s3cret!')), true)
})

/** A SecretCache over the real PBKDF2 hasher that counts the hashings it asks for. */
function countingCache(): { cache: SecretCache; inner: ReturnType<typeof createHasher>; calls: () => number } {
  let calls = 0
  const inner = createHasher(settings)
  const cache = new SecretCache({ hash: inner.hash, verify: async (s: string, e: string) => (calls++, inner.verify(s, e)) })
  return { cache, inner, calls: () => calls }
}

t.test('secret cache: a verified pair is remembered only while the stored hash is unchanged', async (t) => {
  const { cache, inner, calls } = countingCache()
  const hash1 = await inner.hash('one')
  t.equal(await cache.verify('c', 'one', hash1), true)
  t.equal(await cache.verify('c', 'one', hash1), true)
  t.equal(calls(), 1, 'the second check is served from the cache')
  t.equal(await cache.verify('c', 'wrong', hash1), false)
  t.equal(await cache.verify('c', 'wrong', hash1), false)
  t.equal(calls(), 3, 'failures are never cached')
  const hash2 = await inner.hash('two')
  t.equal(await cache.verify('c', 'one', hash2), false, 'a new stored hash invalidates the cached pair')
  t.equal(await cache.verify('other', 'one', hash1), true)
  t.equal(calls(), 5, 'entries are per client')
})

t.test('opaque tokens: prefix, 256-bit key, HMAC signature; forgeries rejected before any lookup', async (t) => {
  const tokens = new OpaqueTokens(['secret-one-0123456789', 'secret-old-0123456789'], 'ory_at_')
  const { token, signatureHash } = tokens.issue()
  t.match(token, /^ory_at_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/)
  t.match(signatureHash, /^[0-9a-f]{64}$/)
  t.notOk(token.includes(signatureHash), 'the stored key is not part of the token')
  t.equal(tokens.verify(token), signatureHash)
  t.equal(tokens.verify(token.replace('ory_at_', 'x_')), undefined)
  const [key, sig] = token.slice(7).split('.')
  const other = new OpaqueTokens(['another-secret-0123456789'], 'ory_at_')
  t.equal(other.verify(token), undefined, 'another secret did not sign it')
  t.equal(tokens.verify(`ory_at_${key}.${other.issue().token.split('.')[1]}`), undefined)
  t.equal(tokens.verify(`ory_at_${key}`), undefined)
  t.equal(tokens.verify(`ory_at_${sig}.${key}`), undefined)
  const old = new OpaqueTokens(['secret-old-0123456789'], 'ory_at_').issue()
  t.equal(tokens.verify(old.token), old.signatureHash, 'a token of a rotated-out signing secret still verifies')
  const custom = new OpaqueTokens(['secret-one-0123456789'], 'gh_')
  t.match(custom.issue().token, /^gh_/)
  t.throws(() => new OpaqueTokens([], 'x'))
})

t.test('secret cache: concurrent checks of one pair share one hashing; a wrong secret is shared but not kept', async (t) => {
  const { cache, inner, calls } = countingCache()
  const hash = await inner.hash('one')
  t.same(await Promise.all(Array.from({ length: 20 }, () => cache.verify('c', 'one', hash))), Array(20).fill(true))
  t.equal(calls(), 1, '20 concurrent checks, one PBKDF2')
  t.same(await Promise.all([cache.verify('c', 'bad', hash), cache.verify('c', 'bad', hash), cache.verify('d', 'one', hash)]), [false, false, true])
  t.equal(calls(), 3, 'the two wrong ones shared a hashing; another client has its own')
  t.equal(await cache.verify('c', 'bad', hash), false)
  t.equal(calls(), 4, 'a failure is not remembered once it settled')
  t.equal(cache.known('c', 'one', hash), true)
})
