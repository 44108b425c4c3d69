import t from 'tap'
import { rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { request } from 'undici'
import { startFakeIntrospection } from './helpers/introspection-endpoint.js'
import { jwks, jwksServer, key, sign } from './helpers/jwt.js'
import { ALL_HANDLERS, startGateway, startUpstream } from './helpers/servers.js'
import { until } from './helpers/wait.js'

const up = await startUpstream()
t.teardown(() => up.close())
const rsa = await key('rsa-1', 'RS256')
const signingKeys = pathToFileURL(resolve('config/id_token.jwks.json')).href

const rule = (id: string, authn: string, mutator = '{ handler: noop }'): string => `
- id: ${id}
  match: { url: 'http://gw.test/${id}', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [${authn}]
  authorizer: { handler: allow }
  mutators: [${mutator}]
`

t.test('a reload that removes the only rule using a key set, an introspection endpoint or a signer drops it', async (t) => {
  const keys = await jwksServer(jwks(rsa))
  const introspection = await startFakeIntrospection({ 'opaque-1': { active: true, sub: 'bob' } })
  t.teardown(() => introspection.close())
  const endpoint = new URL(introspection.url)
  const endpointLabel = `${endpoint.origin}${endpoint.pathname}`
  const gw = await startGateway({
    'stable.yml': rule('stable', '{ handler: noop }'),
    'jwt.yml': rule('jwt', `{ handler: jwt, config: { jwks_urls: ['${keys.url}'] } }`),
    'introspection.yml': rule(
      'introspection',
      `{ handler: oauth2_introspection, config: { introspection_url: '${introspection.url}', cache: { enabled: true, ttl: 1m, revocation_events_url: '' } } }`,
    ),
    'signer.yml': rule('signer', '{ handler: noop }', `{ handler: id_token, config: { issuer_url: 'https://gw.test', jwks_url: '${signingKeys}' } }`),
  }, {
    authenticators: { ...ALL_HANDLERS.authenticators, jwt: { enabled: true }, oauth2_introspection: { enabled: true } },
    mutators: { ...ALL_HANDLERS.mutators, id_token: { enabled: true } },
  })
  t.teardown(() => gw.close())
  const get = async (path: string, token?: string): Promise<number> => {
    const headers: Record<string, string> = { host: 'gw.test' }
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    const r = await request(`${gw.proxy}${path}`, { headers })
    await r.body.dump()
    return r.statusCode
  }
  const scrape = async (): Promise<string> => (await request(gw.metrics)).body.text()
  const published = async (): Promise<unknown[]> => ((await (await request(`${gw.api}/.well-known/jwks.json`)).body.json()) as { keys: unknown[] }).keys
  const held = (): string[] => gw.gateway.sharedResources()
  const jwksKey = `jwt:jwks:${keys.url}`

  t.equal(await get('/jwt', await sign(rsa)), 200)
  t.equal(await get('/introspection', 'opaque-1'), 200)
  t.equal(await get('/introspection', 'opaque-1'), 200)
  t.equal(await get('/signer'), 200)
  t.ok(held().includes(jwksKey), 'the key set source is held')
  t.ok(held().some((k) => k.startsWith('authn/jwt/verified')), 'and the verified-token cache')
  t.ok(held().some((k) => k.startsWith('authn/oauth2_introspection ')), 'and the introspection cache')
  t.ok(held().some((k) => k.startsWith('id_token:jwks:')), 'and the id_token signer')
  t.match(await scrape(), new RegExp(`gatehouse_introspection_cache_entries\\{endpoint="${endpointLabel}"\\} 1`))
  t.equal((await published()).length, 1, 'the signer’s public key is published')

  // A reload that keeps them: the same source, so no refetch.
  const fetches = keys.state.fetches
  writeFileSync(join(gw.dir, 'stable.yml'), rule('stable', '{ handler: anonymous }'))
  await until(() => gw.gateway.rules().rules.some((r) => r.spec.authenticators?.[0]?.handler === 'anonymous'), 'the changed rule in force')
  await gw.gateway.loader.settled()
  t.ok(held().includes(jwksKey), 'still held while a rule uses it')
  t.equal(await get('/jwt', await sign(rsa)), 200)
  t.equal(keys.state.fetches, fetches, 'not fetched again')

  // Held here so that its (shared, interned) authenticator step outlives the reload for sure,
  // as it may when no garbage collection happens to run: the re-added rule below must not get it.
  const removedJwtRule = gw.gateway.rules().rules.find((r) => r.id === 'jwt')
  rmSync(join(gw.dir, 'jwt.yml'))
  rmSync(join(gw.dir, 'introspection.yml'))
  rmSync(join(gw.dir, 'signer.yml'))
  await until(() => !held().includes(jwksKey), 'the key set source to be dropped')
  await until(() => !held().some((k) => k.startsWith('authn/oauth2_introspection ')), 'the introspection cache to be dropped')
  await until(() => !held().some((k) => k.startsWith('id_token:jwks:')), 'the signer to be dropped')
  t.notOk(held().some((k) => k.startsWith('authn/jwt/verified')), 'the verified-token cache too')
  const metrics = await scrape()
  t.notMatch(metrics, /gatehouse_introspection_cache_entries\{/, 'its entries are no longer reported')
  t.match(metrics, new RegExp(`gatehouse_introspection_cache_hits_total\\{endpoint="${endpointLabel}"\\} 1`), 'its counts stay in the totals')
  t.same(await published(), [], 'the signer’s key is no longer published')
  t.equal(await get('/stable'), 200, 'the rule left is served')

  // The same rule again: its step is made anew, with a key set source of its own, not the
  // earlier step whose source was dropped (and is being disposed).
  const before = keys.state.fetches
  writeFileSync(join(gw.dir, 'jwt.yml'), rule('jwt', `{ handler: jwt, config: { jwks_urls: ['${keys.url}'] } }`))
  await until(() => gw.gateway.rules().rules.some((r) => r.id === 'jwt'), 'the re-added rule in force')
  const readded = gw.gateway.rules().rules.find((r) => r.id === 'jwt')
  t.not(readded?.authenticators[0], removedJwtRule?.authenticators[0], 'a new step, not the one whose source was dropped')
  t.ok(held().includes(jwksKey), 'the key set source is held again')
  t.equal(await get('/jwt', await sign(rsa)), 200)
  t.ok(keys.state.fetches > before, 'and fetched again')
})
