import t, { type Test } from 'tap'
import { createHmac, KeyObject, sign as cryptoSign } from 'node:crypto'
import { createServer } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { decodeProtectedHeader, exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { request } from 'undici'
import { rawExchange } from './helpers/raw-http.js'
import { ALL_HANDLERS, startGateway, startUpstream } from './helpers/servers.js'
import { basic, call, startTokenServer, type RunningTokenServer } from './helpers/token-server.js'
import { until } from './helpers/wait.js'

// Token attacks against rules backed by the real token server: `jwt` (its JWT access tokens, its
// JWKS, plus a key set of our own for claims it would never issue) and `oauth2_introspection`
// (its admin introspection endpoint, opaque and JWT tokens). Every forged, broken or unfit token
// gets 401 (no valid credentials) or 403 (valid, but not for this rule), as Oathkeeper answers;
// never 200, never a 5xx.

const ISSUER = 'http://127.0.0.1:4444/'
const OWN_ISSUER = 'https://issuer.test/'
const AUDIENCE = 'https://api.test'

const jwtServer = await startTokenServer({ config: { strategies: { access_token: 'jwt' } } })
const opaqueServer = await startTokenServer()
t.teardown(async () => {
  await jwtServer.close()
  await opaqueServer.close()
})

async function client(ts: RunningTokenServer, id: string, lifespan?: string): Promise<void> {
  const r = await call('POST', `${ts.adminUrl}/admin/clients`, {
    json: {
      client_id: id,
      client_secret: `secret-${id}`,
      grant_types: ['client_credentials'],
      scope: 'read',
      audience: [AUDIENCE, 'https://other.test'],
      ...(lifespan === undefined ? {} : { client_credentials_grant_access_token_lifespan: lifespan }),
    },
  })
  if (r.status !== 201) throw new Error(`client ${id}: ${JSON.stringify(r.body)}`)
}
async function issue(ts: RunningTokenServer, id: string, audience = AUDIENCE): Promise<string> {
  const r = await call('POST', `${ts.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials', scope: 'read', audience }, headers: basic(id, `secret-${id}`) })
  if (r.status !== 200) throw new Error(`token for ${id}: ${JSON.stringify(r.body)}`)
  return r.body.access_token as string
}
// 'brief': long enough that a busy machine uses both its tokens before they expire.
await Promise.all([client(jwtServer, 'svc'), client(jwtServer, 'brief', '4s'), client(opaqueServer, 'svc'), client(opaqueServer, 'brief', '4s')])

// Our own signing key, in a key set on disk that the jwt rule trusts besides the token server's.
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-attack-tokens-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const own = await generateKeyPair('RS256', { extractable: true })
writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(own.publicKey)), kid: 'own-1', alg: 'RS256', use: 'sig' }] }))
// An attacker's key: never published anywhere the gateway looks.
const attacker = await generateKeyPair('RS256', { extractable: true })

// Someone else's key set, for `jku` headers: the gateway must never fetch it.
let jkuFetches = 0
const jkuServer = createServer(async (_req, res) => {
  jkuFetches++
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ keys: [{ ...(await exportJWK(attacker.publicKey)), kid: 'evil', alg: 'RS256' }] }))
})
await new Promise<void>((r) => jkuServer.listen(0, '127.0.0.1', r))
t.teardown(() => new Promise<void>((r) => (jkuServer.closeAllConnections(), jkuServer.close(() => r()))))
const jkuUrl = `http://127.0.0.1:${(jkuServer.address() as AddressInfo).port}/jwks.json`

const up = await startUpstream()
t.teardown(() => up.close())
const introspection = (ts: RunningTokenServer, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ introspection_url: `${ts.adminUrl}/admin/oauth2/introspect`, ...extra })
const rules = `
- id: jwt
  match: { url: 'http://gw.test/jwt/<.*>', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators:
    - handler: jwt
      config:
        jwks_urls: ['${jwtServer.publicUrl}/.well-known/jwks.json', '${pathToFileURL(join(dir, 'jwks.json')).href}']
        trusted_issuers: ['${ISSUER}', '${OWN_ISSUER}']
        target_audience: ['${AUDIENCE}']
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: introspect-jwt
  match: { url: 'http://gw.test/introspect-jwt/<.*>', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: oauth2_introspection, config: ${introspection(jwtServer, { target_audience: [AUDIENCE], trusted_issuers: [ISSUER] })} }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: introspect
  match: { url: 'http://gw.test/introspect/<.*>', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: oauth2_introspection, config: ${introspection(opaqueServer, { prefix: 'ory_at_', target_audience: [AUDIENCE] })} }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: introspect-any
  match: { url: 'http://gw.test/introspect-any/<.*>', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: oauth2_introspection, config: ${introspection(opaqueServer)} }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`
const gw = await startGateway(
  { 'rules.yml': rules },
  {
    authenticators: {
      ...ALL_HANDLERS.authenticators,
      jwt: { enabled: true, config: { jwks_urls: ['https://unused.test/jwks.json'] } },
      // A budget (give_up_after) a busy machine's introspection fits in with room to spare.
      oauth2_introspection: { enabled: true, config: { introspection_url: 'https://unused.test/introspect', retry: { give_up_after: '10s' } } },
    },
  },
)
t.teardown(() => gw.close())

const RULES = ['jwt', 'introspect-jwt', 'introspect', 'introspect-any'] as const
type RuleName = (typeof RULES)[number]

/** The status of GET /<rule>/x through the proxy and through the decision API (they must agree). */
async function statusOf(t: Test, rule: RuleName, authorization: string | undefined): Promise<number> {
  const headers: Record<string, string> = { host: 'gw.test' }
  if (authorization !== undefined) headers.authorization = authorization
  const [proxied, decided] = await Promise.all([
    request(`${gw.proxy}/${rule}/x`, { headers }),
    request(`${gw.api}/decisions/${rule}/x`, { headers }),
  ])
  await Promise.all([proxied.body.dump(), decided.body.dump()])
  t.equal(decided.statusCode, proxied.statusCode, `${rule}: the decision API agrees (${decided.statusCode})`)
  return proxied.statusCode
}

// ---------------------------------------------------------------------------------------------
// Forgeries.

const now = (): number => Math.floor(Date.now() / 1000)
const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

/** A token signed with our own key (trusted by the jwt rule) carrying whatever we put in it. */
function ownToken(claims: JWTPayload = {}, header: Record<string, unknown> = {}, key: CryptoKey = own.privateKey): Promise<string> {
  return new SignJWT({ sub: 'mallory', iss: OWN_ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'own-1', ...header })
    .sign(key)
}

/** HS256 over header.payload with `secret` (the classic RS256 → HS256 confusion). */
function hs256(header: Record<string, unknown>, payload: Record<string, unknown>, secret: Uint8Array): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** RS256 over any header, even one a JWT library refuses to write (unknown `crit`, …). */
function rs256(header: Record<string, unknown>, payload: Record<string, unknown>, key: CryptoKey = own.privateKey): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${cryptoSign('sha256', Buffer.from(input), KeyObject.from(key)).toString('base64url')}`
}
const ps256 = await generateKeyPair('PS256', { extractable: true })

const realJwt = await issue(jwtServer, 'svc')
const realOpaque = await issue(opaqueServer, 'svc')
const serverKid = decodeProtectedHeader(realJwt).kid as string
const serverClaims = JSON.parse(Buffer.from(realJwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
const serverJwk = ((await (await request(`${jwtServer.publicUrl}/.well-known/jwks.json`)).body.json()) as { keys: JWK[] }).keys.find((k) => k.kid === serverKid)!
const serverPem = await exportSPKI((await importJWK(serverJwk, 'RS256', { extractable: true })) as CryptoKey)
const serverDer = Buffer.from(serverPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')

/** Expected status per rule; rules not named expect 401. */
type Expect = Partial<Record<RuleName, number>>
interface Case {
  readonly name: string
  /** The Authorization header, or undefined for none. */
  readonly authorization: string | undefined
  readonly expect?: Expect
}

const bearer = (token: string): string => `Bearer ${token}`
const [h, p, s] = realJwt.split('.') as [string, string, string]
const [oPrefixed, oSig] = realOpaque.split('.') as [string, string]

const cases = async (): Promise<Case[]> => [
  // Controls: the doors open for genuine tokens, so the refusals below mean something.
  { name: 'a genuine JWT from the token server', authorization: bearer(realJwt), expect: { jwt: 200, 'introspect-jwt': 200 } },
  { name: 'a genuine opaque token', authorization: bearer(realOpaque), expect: { introspect: 200, 'introspect-any': 200 } },
  { name: 'a genuine token of our own issuer', authorization: bearer(await ownToken()), expect: { jwt: 200 } },
  { name: 'a lower-case scheme', authorization: `bearer ${realJwt}`, expect: { jwt: 200, 'introspect-jwt': 200 } },
  // Missing, malformed, wrong scheme.
  { name: 'no Authorization', authorization: undefined },
  { name: 'an empty Authorization', authorization: '' },
  { name: 'the scheme alone', authorization: 'Bearer' },
  { name: 'the scheme and a space', authorization: 'Bearer ' },
  { name: 'two spaces before the token', authorization: `Bearer  ${realJwt}` },
  { name: 'Basic credentials', authorization: `Basic ${Buffer.from('svc:secret-svc').toString('base64')}` },
  { name: 'another scheme with a genuine token', authorization: `Token ${realJwt}` },
  { name: 'a genuine token without a scheme', authorization: realJwt },
  { name: 'garbage', authorization: bearer('!!!not a token!!!') },
  { name: 'three dots', authorization: bearer('...') },
  { name: 'header and payload not base64url JSON', authorization: bearer('xxx.yyy.zzz') },
  { name: 'an empty JSON header', authorization: bearer(`${b64({})}.${p}.${s}`) },
  { name: 'a header that is JSON but not an object', authorization: bearer(`${b64('[1]')}.${p}.${s}`) },
  { name: 'a payload that is not JSON', authorization: bearer(`${h}.${b64('not json')}.${s}`) },
  { name: 'two parts', authorization: bearer(`${h}.${p}`) },
  { name: 'four parts', authorization: bearer(`${realJwt}.x`) },
  { name: 'five parts (JWE-shaped)', authorization: bearer(`${h}.${p}.${s}.a.b`) },
  // Truncated or altered.
  { name: 'a JWT missing the end of its signature', authorization: bearer(realJwt.slice(0, -8)) },
  { name: 'a JWT without its signature', authorization: bearer(`${h}.${p}.`) },
  { name: 'a JWT whose payload was changed', authorization: bearer(`${h}.${b64({ ...serverClaims, sub: 'admin' })}.${s}`) },
  { name: 'an opaque token missing its last character', authorization: bearer(realOpaque.slice(0, -1)) },
  { name: 'an opaque token with another signature', authorization: bearer(`${oPrefixed}.${oSig.split('').reverse().join('')}`) },
  { name: 'an opaque token without its signature', authorization: bearer(oPrefixed) },
  { name: 'an opaque token with a wrong prefix', authorization: bearer(realOpaque.replace(/^ory_at_/, 'ory_rt_')), expect: {} },
  { name: 'an opaque token with the prefix doubled', authorization: bearer(`ory_at_${realOpaque}`) },
  { name: 'a JWT where an opaque token is expected', authorization: bearer(realJwt), expect: { jwt: 200, 'introspect-jwt': 200 } },
  // alg none and algorithm confusion.
  ...['none', 'None', 'NONE', 'nOnE'].map((alg) => ({ name: `alg "${alg}"`, authorization: bearer(`${b64({ alg, kid: serverKid, typ: 'JWT' })}.${p}.`) })),
  { name: 'alg none with a signature', authorization: bearer(`${b64({ alg: 'none' })}.${p}.${s}`) },
  { name: 'HS256 keyed with the PEM of the RSA public key', authorization: bearer(hs256({ alg: 'HS256', kid: serverKid, typ: 'JWT' }, serverClaims, Buffer.from(serverPem))) },
  { name: 'HS256 keyed with the DER of the RSA public key', authorization: bearer(hs256({ alg: 'HS256', kid: serverKid }, serverClaims, serverDer)) },
  { name: 'HS256 keyed with the JWK of the RSA public key', authorization: bearer(hs256({ alg: 'HS256', kid: serverKid }, serverClaims, Buffer.from(JSON.stringify(serverJwk)))) },
  { name: 'HS256 keyed with the modulus', authorization: bearer(hs256({ alg: 'HS256', kid: serverKid }, serverClaims, Buffer.from(serverJwk.n!, 'base64url'))) },
  { name: 'HS256 without a kid', authorization: bearer(hs256({ alg: 'HS256' }, serverClaims, Buffer.from(serverPem))) },
  { name: 'PS256, an algorithm the rule does not allow', authorization: bearer(await ownToken({}, { alg: 'PS256' }, ps256.privateKey)) },
  { name: 'RS256 with a typ the rule does not know', authorization: bearer(await ownToken({}, { typ: 'at+jwt+evil' })), expect: { jwt: 200 } },
  // Keys that are not the issuer's.
  { name: "an attacker's key under the server's kid", authorization: bearer(await ownToken({ iss: ISSUER }, { kid: serverKid }, attacker.privateKey)) },
  { name: "an attacker's key under our kid", authorization: bearer(await ownToken({}, {}, attacker.privateKey)) },
  { name: 'an unknown kid', authorization: bearer(await ownToken({}, { kid: 'nope' })) },
  { name: 'no kid, signed by an unknown key', authorization: bearer(await new SignJWT({ sub: 'm', iss: OWN_ISSUER, aud: AUDIENCE, exp: now() + 60 }).setProtectedHeader({ alg: 'RS256' }).sign(attacker.privateKey)) },
  { name: 'a kid with a path in it', authorization: bearer(await ownToken({}, { kid: '../../../../../../etc/passwd' })) },
  { name: 'a 10 KB kid', authorization: bearer(await ownToken({}, { kid: 'k'.repeat(10_000) })) },
  { name: 'the key embedded in the header (jwk)', authorization: bearer(await ownToken({}, { kid: 'evil', jwk: await exportJWK(attacker.publicKey) }, attacker.privateKey)) },
  { name: 'a key set URL in the header (jku)', authorization: bearer(await ownToken({}, { kid: 'evil', jku: jkuUrl }, attacker.privateKey)) },
  { name: 'an unknown critical header', authorization: bearer(rs256({ alg: 'RS256', kid: 'own-1', crit: ['x-must'], 'x-must': 1 }, { sub: 'm', iss: OWN_ISSUER, aud: AUDIENCE, exp: now() + 60 })) },
  { name: 'a b64=false payload', authorization: bearer(rs256({ alg: 'RS256', kid: 'own-1', b64: false, crit: ['b64'] }, { sub: 'm', iss: OWN_ISSUER, aud: AUDIENCE, exp: now() + 60 })) },
  { name: 'a valid signature over a duplicated header', authorization: bearer(rs256({ alg: 'RS256', kid: 'own-1' }, { sub: 'm', iss: OWN_ISSUER, aud: AUDIENCE, exp: now() + 60 }).replace(/^/, `${b64({ alg: 'none' })}.`)) },
  // Times.
  { name: 'expired an hour ago', authorization: bearer(await ownToken({ exp: now() - 3600, iat: now() - 7200 })) },
  { name: 'not valid for an hour', authorization: bearer(await ownToken({ nbf: now() + 3600 })) },
  { name: 'issued in the future', authorization: bearer(await ownToken({ iat: now() + 3600 })) },
  { name: 'exp that is not a number', authorization: bearer(await ownToken({ exp: 'never' as unknown as number })) },
  { name: 'nbf that is not a number', authorization: bearer(await ownToken({ nbf: {} as unknown as number })) },
  // Claims that make a genuine token unfit for the rule: 403.
  { name: 'a genuine JWT for another audience', authorization: bearer(await issue(jwtServer, 'svc', 'https://other.test')), expect: { jwt: 403, 'introspect-jwt': 403 } },
  { name: 'a genuine opaque token for another audience', authorization: bearer(await issue(opaqueServer, 'svc', 'https://other.test')), expect: { introspect: 403, 'introspect-any': 200 } },
  { name: 'a wrong audience', authorization: bearer(await ownToken({ aud: 'https://elsewhere.test' })), expect: { jwt: 403 } },
  { name: 'no audience', authorization: bearer(await ownToken({ aud: undefined })), expect: { jwt: 403 } },
  { name: 'an audience that is not a string', authorization: bearer(await ownToken({ aud: 123 as unknown as string })), expect: { jwt: 403 } },
  { name: 'an untrusted issuer', authorization: bearer(await ownToken({ iss: 'https://evil.test/' })), expect: { jwt: 403 } },
  { name: 'no issuer', authorization: bearer(await ownToken({ iss: undefined })), expect: { jwt: 403 } },
  // Size: a large token is refused like any other; a header section over Node's limit is 431.
  { name: 'a 12 KB JWT-shaped token', authorization: bearer(`${h}.${'A'.repeat(12_000)}.${s}`) },
  { name: 'a 12 KB opaque-looking token', authorization: bearer(`ory_at_${'A'.repeat(12_000)}.${oSig}`) },
]

t.test('forged, broken and unfit tokens → 401 or 403, never 200 or 5xx', async (t) => {
  for (const c of await cases()) {
    for (const rule of RULES) {
      const want = c.expect?.[rule] ?? 401
      const got = await statusOf(t, rule, c.authorization)
      t.equal(got, want, `${c.name} → ${rule}: ${want}`)
    }
  }
  t.equal(jkuFetches, 0, 'a jku header made the gateway fetch nothing')
})

t.test('a 1 MB Authorization header → 431 before any rule, never 500', async (t) => {
  const before = up.seen.length
  for (const rule of RULES) {
    const ex = await rawExchange(Number(new URL(gw.proxy).port), `GET /${rule}/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${'A'.repeat(1024 * 1024)}\r\nConnection: close\r\n\r\n`)
    t.equal(ex.status, 431, `${rule}: 431`)
    const d = await rawExchange(Number(new URL(gw.api).port), `GET /decisions/${rule}/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${'A'.repeat(1024 * 1024)}\r\nConnection: close\r\n\r\n`)
    t.equal(d.status, 431, `${rule} through the decision API: 431`)
  }
  t.equal(up.seen.length, before, 'nothing was forwarded')
})

t.test('an expired token from the token server → 401', async (t) => {
  const jwt = await issue(jwtServer, 'brief')
  const opaque = await issue(opaqueServer, 'brief')
  const jwtExp = (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp
  const opaqueExp = (await call('POST', `${opaqueServer.adminUrl}/admin/oauth2/introspect`, { form: { token: opaque } })).body.exp as number
  t.equal(await statusOf(t, 'jwt', bearer(jwt)), 200, 'the JWT works while it lives')
  t.equal(await statusOf(t, 'introspect', bearer(opaque)), 200, 'so does the opaque token')
  // exp is in whole seconds: wait until the later of the two has passed by a second.
  const exp = Math.max(jwtExp, opaqueExp)
  await until(() => Date.now() > (exp + 1) * 1000, 'both tokens to expire')
  for (const rule of RULES) {
    t.equal(await statusOf(t, rule, bearer(jwt)), 401, `the expired JWT → ${rule}: 401`)
    t.equal(await statusOf(t, rule, bearer(opaque)), 401, `the expired opaque token → ${rule}: 401`)
  }
})

t.test('a revoked token → 401 through introspection', async (t) => {
  const jwt = await issue(jwtServer, 'svc')
  const opaque = await issue(opaqueServer, 'svc')
  t.equal(await statusOf(t, 'introspect-jwt', bearer(jwt)), 200)
  t.equal(await statusOf(t, 'introspect', bearer(opaque)), 200)
  for (const [ts, token] of [[jwtServer, jwt], [opaqueServer, opaque]] as const) {
    const r = await call('POST', `${ts.publicUrl}/oauth2/revoke`, { form: { token }, headers: basic('svc', 'secret-svc') })
    t.equal(r.status, 200, 'revoked')
  }
  t.equal(await statusOf(t, 'introspect-jwt', bearer(jwt)), 401, 'the revoked JWT, introspected: 401')
  t.equal(await statusOf(t, 'introspect', bearer(opaque)), 401, 'the revoked opaque token: 401')
  t.equal(await statusOf(t, 'introspect-any', bearer(opaque)), 401)
})
