/**
 * For tests of the `jwt` authenticator: signing keys, a JWKS server whose answer the test
 * changes, and building and running the authenticator as a rule load and a request do.
 */
import t from 'tap'
import { Ajv } from 'ajv'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { pino } from 'pino'
import { Agent } from 'undici'
import { GatehouseError } from '../../src/errors.js'
import { authenticators } from '../../src/pipeline/authn/index.js'
import { JwksSource, jwksSourceKey } from '../../src/pipeline/authn/jwt/source.js'
import { parseJwksLocation } from '../../src/pipeline/jwks/document.js'
import { newSession, type PipelineRequest } from '../../src/pipeline/session.js'
import { SharedResources } from '../../src/pipeline/shared.js'
import type { Authenticate } from '../../src/pipeline/types.js'

export const logger = pino({ level: 'silent' })
export const http = new Agent()
t.teardown(() => http.close())

export interface Key {
  kid: string
  alg: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  jwk: JWK
}
export async function key(kid: string, alg: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}
export const jwks = (...keys: Key[]): { keys: JWK[] } => ({ keys: keys.map((k) => k.jwk) })

export const now = (): number => Math.floor(Date.now() / 1000)
export function sign(k: Key, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ sub: 'alice', iat: now(), exp: now() + 60, ...claims })
    .setProtectedHeader({ alg: k.alg, kid: k.kid, ...header })
    .sign(k.privateKey)
}
export const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')

/**
 * A JWKS server on 127.0.0.1:0 whose answer and status the test changes; counts requests. While
 * `hold` is set, requests wait (counted in `held`) until `release()` answers them.
 */
export async function jwksServer(initial: { keys: JWK[] }) {
  const state = { body: initial as unknown, status: 200, hold: false, held: 0, fetches: 0 }
  const waiting: Array<() => void> = []
  const server = createServer((_req, res) => {
    state.fetches++
    const answer = (): void => {
      res.writeHead(state.status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(state.body))
    }
    if (!state.hold) return answer()
    state.held++
    waiting.push(() => {
      state.held--
      answer()
    })
  })
  const release = (): void => {
    state.hold = false
    for (const answer of waiting.splice(0)) answer()
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`
  t.teardown(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))))
  return { url, state, release }
}

/** Validates (with defaults) and creates, as a rule load does; a fresh SharedResources unless given. */
export function build(config: Record<string, unknown>, shared = new SharedResources()): Authenticate {
  const def = authenticators().get('jwt')
  const validate = new Ajv({ useDefaults: true, strict: true, allowUnionTypes: true }).compile(def.schema)
  const merged = structuredClone(config)
  if (!validate(merged)) throw new Error(JSON.stringify(validate.errors))
  t.teardown(() => shared.close())
  return def.create(merged, { logger, http, shared })
}

export function req(headers: IncomingHttpHeaders = {}, url = 'http://gw.test/api'): PipelineRequest {
  return { method: 'GET', url: new URL(url), headers, remoteAddress: '127.0.0.1', requestId: 'r' }
}

/** 200 (with the session), 401/403/503 (with the error) or 'not responsible'. */
export async function run(authn: Authenticate, token: string | undefined, r?: PipelineRequest) {
  const request = r ?? req(token === undefined ? {} : { authorization: `Bearer ${token}` })
  const session = newSession(request, [])
  try {
    return (await authn(request, session)) ? { status: 200, session } : { status: 'not responsible' as const, session }
  } catch (err) {
    if (!(err instanceof GatehouseError)) throw err
    return { status: err.status, error: err, session }
  }
}

/** A source shared the way rules share it, but with a short refresh interval so rotation is testable quickly. */
export function sharedWith(url: string, minRefreshIntervalMs: number, failureBackoffMs?: number): SharedResources {
  const shared = new SharedResources()
  const opts = { http, logger, minRefreshIntervalMs, ...(failureBackoffMs === undefined ? {} : { failureBackoffMs }) }
  shared.get(jwksSourceKey(url), () => new JwksSource(parseJwksLocation(url, 'jwks_urls[0]'), opts))
  return shared
}
