import t from 'tap'
import { SignJWT } from 'jose'
import { verifiedCacheKey, VerifiedTokens, type VerifiedToken } from '../src/pipeline/authn/jwt/verified-cache.js'
import { KeySet } from '../src/pipeline/jwks/keys.js'
import { SharedResources } from '../src/pipeline/shared.js'
import { b64, build, jwks, jwksServer, key, now, run, sharedWith, sign } from './helpers/jwt.js'
import { until } from './helpers/wait.js'

const [rsa, rotated, other] = await Promise.all([key('rsa-1', 'RS256'), key('rsa-2', 'RS256'), key('rsa-x', 'RS256')])
const server = await jwksServer(jwks(rsa))

/** The verified-token cache the rules built with `shared` use (default max_tokens unless given). */
function cacheOf(shared: SharedResources, maxTokens = 10_000): VerifiedTokens {
  const found = shared.list<VerifiedTokens>(verifiedCacheKey(maxTokens))
  if (found.length !== 1) throw new Error(`expected one verified-token cache, found ${found.length}`)
  return found[0]!
}

t.test('a repeated token is verified once; the rule’s claim checks still run on every hit', async (t) => {
  const shared = new SharedResources()
  const authn = build({ jwks_urls: [server.url] }, shared)
  const token = await sign(rsa, { aud: ['api-a'], scope: 'read' })
  t.equal((await run(authn, token)).status, 200)
  const cache = cacheOf(shared)
  t.equal(cache.lru.size, 1)
  t.equal(cache.hits, 0)
  const again = await run(authn, token)
  t.equal(again.status, 200)
  t.equal(cache.hits, 1, 'served from the cache')
  t.equal(again.session.Subject, 'alice')
  t.same(again.session.Extra.scp, ['read'], 'the normalised scope')
  t.notOk('scope' in again.session.Extra)

  const audience = build({ jwks_urls: [server.url], target_audience: ['api-b'] }, shared)
  const denied = await run(audience, token)
  t.equal(denied.status, 403, 'another rule with the same key sets checks its own audience on the cached token')
  t.equal(cache.hits, 2, 'it was a hit')
  const scoped = build({ jwks_urls: [server.url], scope_strategy: 'exact', required_scope: ['write'] }, shared)
  t.equal((await run(scoped, token)).status, 403, 'and its own scope')
  const issuer = build({ jwks_urls: [server.url], trusted_issuers: ['https://idp'] }, shared)
  t.equal((await run(issuer, token)).status, 403, 'and its own issuer')
})

t.test('what changes the signature verdict is part of the key: key sets and algorithms', async (t) => {
  const shared = new SharedResources()
  const token = await sign(rsa)
  t.equal((await run(build({ jwks_urls: [server.url] }, shared), token)).status, 200)
  const elsewhere = await jwksServer(jwks(rotated))
  const otherKeys = await run(build({ jwks_urls: [elsewhere.url] }, shared), token)
  t.equal(otherKeys.status, 401, 'a rule trusting other keys does not take the cached verdict')
  t.match(otherKeys.error?.reason, /"rsa-1" .* could not be found/)
  const otherAlgs = await run(build({ jwks_urls: [server.url], allowed_algorithms: ['ES256'] }, shared), token)
  t.equal(otherAlgs.status, 401, 'nor a rule allowing other algorithms')
  t.match(otherAlgs.error?.reason, /"RS256" which is not allowed/)
  t.equal(cacheOf(shared).hits, 0)
})

t.test('a session’s claims are its own: changing them does not change the cached token', async (t) => {
  const shared = new SharedResources()
  const authn = build({ jwks_urls: [server.url] }, shared)
  const token = await sign(rsa, { scp: ['read'], org: { id: 'acme', roles: ['user'] } })
  const first = await run(authn, token)
  ;(first.session.Extra.scp as string[]).push('admin')
  ;(first.session.Extra.org as { roles: string[] }).roles.push('admin')
  first.session.Extra.sub = 'mallory'
  const second = await run(authn, token)
  t.equal(cacheOf(shared).hits, 1)
  t.same(second.session.Extra.scp, ['read'])
  t.same(second.session.Extra.org, { id: 'acme', roles: ['user'] })
  t.equal(second.session.Extra.sub, 'alice')

  // Deeper than the plain walk goes (structuredClone takes over there), and a claim named __proto__.
  let deep: Record<string, unknown> = { leaf: ['x'] }
  for (let i = 0; i < 20; i++) deep = { d: deep }
  const odd = await sign(rsa, { deep, ['__proto__']: { admin: true } })
  const leafOf = (extra: Record<string, unknown>): string[] => {
    let v = extra.deep as Record<string, unknown>
    while (v.d !== undefined) v = v.d as Record<string, unknown>
    return v.leaf as string[]
  }
  const a = await run(authn, odd)
  t.equal(a.status, 200)
  t.equal(a.session.Extra.admin, undefined, 'a claim named __proto__ does not become the prototype')
  t.same(Object.getOwnPropertyDescriptor(a.session.Extra, '__proto__')?.value, { admin: true }, 'it stays a plain member')
  leafOf(a.session.Extra).push('changed')
  const b = await run(authn, odd)
  t.equal(cacheOf(shared).hits, 2)
  t.same(leafOf(b.session.Extra), ['x'], 'a change 21 levels down stays in its own session')
  t.equal(b.session.Extra.admin, undefined)
})

t.test('a token that fails verification is never cached as valid', async (t) => {
  const shared = new SharedResources()
  const authn = build({ jwks_urls: [server.url] }, shared)
  const tampered = async (): Promise<string> => {
    const [h, , s] = (await sign(rsa)).split('.')
    return `${h}.${b64({ sub: 'root', exp: now() + 60 })}.${s}`
  }
  const bad = {
    tampered: await tampered(),
    'signed by another key under a published kid': await sign(other, {}, { kid: rsa.kid }),
    expired: await sign(rsa, { exp: now() - 5 }),
    'not yet valid': await sign(rsa, { nbf: now() + 60 }),
    'issued in the future': await sign(rsa, { iat: now() + 60 }),
    'alg none': `${b64({ alg: 'none', kid: rsa.kid })}.${b64({ sub: 'root' })}.`,
  }
  for (const [name, token] of Object.entries(bad)) {
    t.equal((await run(authn, token)).status, 401, name)
    t.equal((await run(authn, token)).status, 401, `${name}, again`)
  }
  t.equal(cacheOf(shared).lru.size, 0, 'nothing stored')
})

t.test('expiry: a cached token is refused once the wall clock passes its exp', async (t) => {
  const shared = new SharedResources()
  const authn = build({ jwks_urls: [server.url] }, shared)
  const exp = now() + 2
  const token = await sign(rsa, { exp })
  t.equal((await run(authn, token)).status, 200)
  t.equal((await run(authn, token)).status, 200)
  t.equal(cacheOf(shared).hits, 1)
  await until(() => Date.now() >= exp * 1000, 'the clock to pass exp')
  const late = await run(authn, token)
  t.equal(late.status, 401)
  t.match(late.error?.reason, /expired/)
})

t.test('the lookup checks exp, nbf and iat against the clock it is given, whatever the LRU thinks', async (t) => {
  const verifiedBy = new KeySet([{ ...rsa.jwk, kty: 'RSA' }]).candidates(rsa.kid, 'RS256')[0]!
  const at = 2_000_000_000 // seconds: the entries' times are relative to it, the LRU's ttl to the real clock
  const entry = (times: Partial<Pick<VerifiedToken, 'exp' | 'nbf' | 'iat'>>): VerifiedToken => ({
    claims: {},
    scp: [],
    exp: undefined,
    nbf: undefined,
    iat: undefined,
    key: verifiedBy,
    ...times,
  })
  const cache = new VerifiedTokens(10)
  cache.lru.set('exp', entry({ exp: at + 10 }))
  t.ok(cache.get('exp', (at + 9) * 1000 + 999), 'in the last second before exp')
  t.equal(cache.get('exp', (at + 10) * 1000), undefined, 'at exp: refused (jose: exp <= now is expired)')
  t.equal(cache.lru.size, 0, 'and dropped')
  cache.lru.set('nbf', entry({ nbf: at + 5 }))
  t.equal(cache.get('nbf', (at + 4) * 1000 + 999), undefined, 'before nbf (a clock stepped back): not served')
  t.ok(cache.get('nbf', (at + 5) * 1000), 'from nbf on')
  cache.lru.set('iat', entry({ iat: at + 5 }))
  t.equal(cache.get('iat', at * 1000), undefined, 'before iat: not served')
  t.ok(cache.get('iat', (at + 5) * 1000), 'from iat on')
})

t.test('nbf: a token is accepted only once its nbf has come, cached or not', async (t) => {
  const shared = new SharedResources()
  const authn = build({ jwks_urls: [server.url] }, shared)
  const nbf = now() + 1
  const token = await sign(rsa, { nbf })
  const early = await run(authn, token)
  t.equal(early.status, 401)
  t.match(early.error?.reason, /not valid yet/)
  await until(() => Date.now() >= nbf * 1000, 'the clock to reach nbf')
  t.equal((await run(authn, token)).status, 200)
  t.equal((await run(authn, token)).status, 200)
  t.equal(cacheOf(shared).hits, 1)
})

t.test('key removal: once a refetched set no longer holds the key, its tokens are checked again', async (t) => {
  const s = await jwksServer(jwks(rsa, rotated))
  // Unknown kids refetch at once (no rate limit), so the test can make the refetch happen.
  const shared = sharedWith(s.url, 0)
  const authn = build({ jwks_urls: [s.url] }, shared)
  const old = await sign(rsa)
  const kept = await sign(rotated)
  t.equal((await run(authn, old)).status, 200)
  t.equal((await run(authn, kept)).status, 200)
  t.equal((await run(authn, old)).status, 200)
  t.equal(cacheOf(shared).hits, 1)

  s.state.body = jwks(rotated)
  const fetches = s.state.fetches
  t.equal((await run(authn, await sign(other, {}, { kid: 'new-kid' }))).status, 401, 'an unknown kid makes the set refetch')
  t.equal(s.state.fetches, fetches + 1)
  const removed = await run(authn, old)
  t.equal(removed.status, 401, 'the removed key’s token is refused, though cached')
  t.match(removed.error?.reason, /"rsa-1" .* could not be found/)
  t.equal((await run(authn, kept)).status, 200, 'a key still published keeps its tokens')
  t.equal(cacheOf(shared).hits, 2, 'from the cache')
})

t.test('key removal noticed through jwks_ttl: an expired set is refetched before a cached token is served', async (t) => {
  const s = await jwksServer(jwks(rsa))
  const shared = new SharedResources()
  const authn = build({ jwks_urls: [s.url], jwks_ttl: '50ms' }, shared)
  const token = await sign(rsa)
  t.equal((await run(authn, token)).status, 200)
  s.state.body = jwks(rotated)
  const fetches = s.state.fetches
  // Polls the request itself: each one is served from the cache only while the set is fresh.
  await until(async () => (await run(authn, token)).status === 401, 'the refetched set to refuse the token')
  t.equal(s.state.fetches, fetches + 1, 'one refetch, when jwks_ttl ran out')
})

t.test('bounded: cache.max_tokens entries at most, the least recently used dropped', async (t) => {
  const shared = new SharedResources()
  const authn = build({ jwks_urls: [server.url], cache: { max_tokens: 2 } }, shared)
  const tokens = await Promise.all(['a', 'b', 'c'].map((sub) => sign(rsa, { sub })))
  for (const tok of tokens) t.equal((await run(authn, tok)).status, 200)
  const cache = cacheOf(shared, 2)
  t.equal(cache.lru.size, 2)
  t.equal((await run(authn, tokens[2])).status, 200)
  t.equal((await run(authn, tokens[1])).status, 200)
  t.equal(cache.hits, 2, 'the two most recent are served from the cache')
  t.equal((await run(authn, tokens[0])).status, 200)
  t.equal(cache.hits, 2, 'the first was dropped: verified again')
  t.equal(cache.lru.size, 2)
  t.same(shared.list(verifiedCacheKey(10_000)), [], 'a rule with the default bound would use another cache')
})

t.test('cache.enabled: false verifies every time', async (t) => {
  const shared = new SharedResources()
  const authn = build({ jwks_urls: [server.url], cache: { enabled: false } }, shared)
  const token = await sign(rsa)
  t.equal((await run(authn, token)).status, 200)
  t.equal((await run(authn, token)).status, 200)
  t.same(shared.list('authn/jwt/verified'), [], 'no cache made')
  t.throws(() => build({ jwks_urls: [server.url], cache: { max_tokens: 0 } }), /max_tokens/, 'max_tokens ≥ 1')
})

t.test('concurrent first sights of one token: all accepted, one entry', async (t) => {
  const shared = new SharedResources()
  const authn = build({ jwks_urls: [server.url] }, shared)
  const token = await new SignJWT({ sub: 'bob', exp: now() + 60 }).setProtectedHeader({ alg: 'RS256', kid: rsa.kid }).sign(rsa.privateKey)
  const all = await Promise.all(Array.from({ length: 5 }, () => run(authn, token)))
  t.ok(all.every((r) => r.status === 200 && r.session.Subject === 'bob'))
  t.equal(cacheOf(shared).lru.size, 1)
})
