import t from 'tap'
import { Ajv } from 'ajv'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose'
import { pino } from 'pino'
import { Agent, request } from 'undici'
import { generateJwks } from '../src/cli/credentials.js'
import { ConfigError, GatehouseError } from '../src/errors.js'
import { mutators } from '../src/pipeline/mutate/index.js'
import { newSession, type PipelineRequest } from '../src/pipeline/session.js'
import { SharedResources } from '../src/pipeline/shared.js'
import type { Mutate } from '../src/pipeline/types.js'
import { ALL_HANDLERS, startGateway, startUpstream } from './helpers/servers.js'

const logger = pino({ level: 'silent' })
const http = new Agent()
t.teardown(() => http.close())

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-idt-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
function file(name: string, content: unknown): string {
  writeFileSync(join(dir, name), JSON.stringify(content))
  return pathToFileURL(join(dir, name)).href
}
const rsaSet = await generateJwks({ alg: 'RS256', kid: 'idt-rsa' })
const ecSet = await generateJwks({ alg: 'ES256', kid: 'idt-ec' })
const rsaFile = file('rsa.json', rsaSet)
const ecFile = file('ec.json', ecSet)
const publicOf = (set: { keys: JWK[] }) => createLocalJWKSet({ keys: set.keys.map(({ d, p, q, dp, dq, qi, ...pub }) => pub) })

/** A server on 127.0.0.1:0 serving the EC key set (private keys: only an id_token signer reads it). */
const keyServer = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify(ecSet))
})
await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r))
t.teardown(() => new Promise<void>((r) => (keyServer.closeAllConnections(), keyServer.close(() => r()))))
const ecUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/keys.json`

function build(config: Record<string, unknown>, shared = new SharedResources()): Mutate {
  const def = mutators().get('id_token')
  const validate = new Ajv({ useDefaults: true, strict: true, allowUnionTypes: true }).compile(def.schema)
  const merged = structuredClone(config)
  if (!validate(merged)) throw new Error(JSON.stringify(validate.errors))
  t.teardown(() => shared.close())
  return def.create(merged, { logger, http, shared })
}

const req: PipelineRequest = { method: 'GET', url: new URL('http://gw.test/x'), headers: {}, remoteAddress: '127.0.0.1', requestId: 'r' }
async function mutate(m: Mutate, subject = 'alice', extra: Record<string, unknown> = { tenant: 'acme' }): Promise<string> {
  const session = newSession(req, [])
  session.Subject = subject
  session.Extra = extra
  await m(req, session)
  const auth = session.Header.Authorization ?? ''
  if (!/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/.test(auth)) throw new Error(`not a bearer JWT: ${auth}`)
  return auth.slice('Bearer '.length)
}
const CLAIMS = '{"aud": ["https://api.internal"], "tenant": "{{ print .Extra.tenant }}", "sub": "not-this", "iss": "nor-this"}'

t.test('signs the session: claims template merged under the standard claims', async (t) => {
  for (const [name, url, set, alg] of [['file RS256', rsaFile, rsaSet, 'RS256'], ['http ES256', ecUrl, ecSet, 'ES256']] as const) {
    const m = build({ issuer_url: 'https://gw.example', jwks_url: url, claims: CLAIMS, ttl: '10m' })
    const token = await mutate(m)
    t.same(decodeProtectedHeader(token), { alg, kid: set.keys[0]!.kid, typ: 'JWT' }, `${name}: header`)
    const { payload } = await jwtVerify(token, publicOf(set), { issuer: 'https://gw.example', audience: 'https://api.internal' })
    t.equal(payload.sub, 'alice', `${name}: sub is the session's, never the template's`)
    t.equal(payload.tenant, 'acme')
    t.equal(payload.exp! - payload.iat!, 600)
    t.equal(payload.nbf, payload.iat)
    t.match(payload.jti, /^[0-9a-f-]{36}$/)
  }
  const bare = await mutate(build({ issuer_url: 'https://gw.example', jwks_url: rsaFile }))
  const p = decodeJwt(bare)
  t.same(Object.keys(p).sort(), ['exp', 'iat', 'iss', 'jti', 'nbf', 'sub'], 'no claims template: only the standard claims')
  t.equal(p.exp! - p.iat!, 900, 'ttl defaults to 15m')
})

/**
 * Runs `fn` with Date.now() reading `ms`: the reuse decision reads the wall clock, and waiting for
 * the real one to get near exp would take most of the ttl (the test's ttl is long, so that a busy
 * machine does everything else well within it).
 */
async function atClock<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const realNow = Date.now
  Date.now = () => ms
  try {
    return await fn()
  } finally {
    Date.now = realNow
  }
}

t.test('tokens are reused per (claims, subject) until a tenth of the ttl is left', async (t) => {
  const m = build({ issuer_url: 'https://gw.example', jwks_url: rsaFile, claims: CLAIMS, ttl: '60s' })
  const first = await mutate(m)
  t.equal(await mutate(m), first, 'same session → same token')
  t.not(await mutate(m, 'bob'), first, 'another subject → another token')
  t.not(await mutate(m, 'alice', { tenant: 'other' }), first, 'other rendered claims → another token')
  const concurrent = await Promise.all(Array.from({ length: 20 }, () => mutate(m, 'carol')))
  t.equal(new Set(concurrent).size, 1, 'concurrent requests share one signature')
  const expMs = decodeJwt(first).exp! * 1000
  t.equal(await atClock(expMs - 7000, () => mutate(m)), first, 'more than 10% (6 s) left → reused')
  const renewed = await atClock(expMs - 5000, () => mutate(m))
  t.not(renewed, first, 'less than 10% left → a new token')
  t.ok(decodeJwt(renewed).exp! > decodeJwt(first).exp!)
})

t.test('claims that do not render to a JSON object → 500 template error', async (t) => {
  for (const claims of ['{"a": {{ .Extra.tenant }}}', '["a"]', 'null']) {
    const err = await mutate(build({ issuer_url: 'i', jwks_url: rsaFile, claims })).catch((e: unknown) => e)
    t.type(err, GatehouseError, claims)
    t.equal((err as GatehouseError).code, 'GATEHOUSE_ERR_TEMPLATE')
    t.equal((err as GatehouseError).status, 500)
  }
})

t.test('config problems are reported at load', async (t) => {
  const publicOnly = file('public.json', { keys: [(await exportJWK((await generateKeyPair('RS256')).publicKey))] })
  t.throws(() => build({ issuer_url: 'i', jwks_url: publicOnly }), /no private RSA, EC or OKP key/)
  t.throws(() => build({ issuer_url: 'i', jwks_url: pathToFileURL(join(dir, 'nope.json')).href }), /ENOENT/)
  t.throws(() => build({ issuer_url: 'i', jwks_url: file('bad.json', { keys: [{ ...rsaSet.keys[0], alg: 'ES256' }] }) }), /"ES256" cannot be used with a RSA key/)
  t.throws(() => build({ issuer_url: 'i', jwks_url: rsaFile, ttl: '500ms' }), /shorter than 1s/)
  t.throws(() => build({ issuer_url: 'i', jwks_url: rsaFile, claims: '{{ .Subject' }), ConfigError)
  t.throws(() => build({ jwks_url: rsaFile }), /issuer_url/)
  const down = build({ issuer_url: 'i', jwks_url: 'http://127.0.0.1:1/keys.json' })
  const err = await mutate(down).catch((e: unknown) => e)
  t.equal((err as GatehouseError).code, 'GATEHOUSE_ERR_UNAVAILABLE', 'an http key set that cannot be fetched → 503')
})

t.test('through a real gateway: jwt in, id_token out, verifiable with the gateway JWKS', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const callerSet = await generateJwks({ alg: 'ES256', kid: 'caller' })
  const callerFile = file('caller.json', callerSet)
  const rule = (id: string, path: string, jwksUrl: string) => ({
    id,
    match: { url: `http://gw.test/${path}`, methods: ['GET'] },
    upstream: { url: up.url },
    authenticators: [{ handler: 'jwt', config: { jwks_urls: [callerFile], allowed_algorithms: ['ES256'] } }],
    authorizer: { handler: 'allow' },
    mutators: [{ handler: 'id_token', config: { jwks_url: jwksUrl, claims: '{"aud": ["upstream"], "plan": "{{ print .Extra.plan }}"}' } }],
  })
  const gw = await startGateway({ 'rules.json': JSON.stringify([rule('file-key', 'a', rsaFile), rule('http-key', 'b', ecUrl)]) }, {
    authenticators: { ...ALL_HANDLERS.authenticators, jwt: { enabled: true } },
    mutators: { ...ALL_HANDLERS.mutators, id_token: { enabled: true, config: { issuer_url: 'https://gw.example/' } } },
  })
  t.teardown(() => gw.close())

  const callerKey = await importJWK(callerSet.keys[0]!, 'ES256')
  const caller = await new SignJWT({ sub: 'alice', plan: 'gold', exp: Math.floor(Date.now() / 1000) + 60 }).setProtectedHeader({ alg: 'ES256', kid: 'caller' }).sign(callerKey)
  const get = async (path: string, token?: string) => {
    const res = await request(`${gw.proxy}${path}`, { headers: { host: 'gw.test', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } })
    await res.body.dump()
    return res.statusCode
  }
  t.equal(await get('/a'), 401, 'no token')
  t.equal(await get('/a', `${caller.slice(0, -4)}AAAA`), 401, 'tampered token')

  const res = await request(`${gw.api}/.well-known/jwks.json`)
  t.equal(res.statusCode, 200)
  const published = (await res.body.json()) as { keys: JWK[] }
  t.same(published.keys.map((k) => k.kid).sort(), ['idt-ec', 'idt-rsa'], 'both signers’ public keys')
  t.notOk(JSON.stringify(published).includes('"d"'), 'no private key material')
  const gatewayKeys = createLocalJWKSet(published)

  for (const path of ['/a', '/b']) {
    t.equal(await get(path, caller), 200, path)
    const auth = String(up.seen.at(-1)?.headers.authorization)
    t.not(auth, `Bearer ${caller}`, 'the caller’s token is replaced')
    const { payload } = await jwtVerify(auth.slice('Bearer '.length), gatewayKeys, { issuer: 'https://gw.example/', audience: 'upstream' })
    t.equal(payload.sub, 'alice')
    t.equal(payload.plan, 'gold')
  }
})
