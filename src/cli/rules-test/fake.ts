/**
 * The in-process fake of the services handlers call (introspection, JWKS, session stores,
 * remote authorizers, hydrators): an undici MockAgent handed to the handlers as their HTTP
 * client, so the real handlers run and nothing reaches the network. A call no fixture answers
 * fails as an unreachable service would, and the case's diagnostics name it.
 */
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { MockAgent } from 'undici'
import type { Fixtures, HttpFixture, JwksFixture } from './cases.js'

/** A key generated for a `jwks` fixture: the fake publishes its public half, cases sign with it. */
export interface SigningKey {
  readonly kid: string
  readonly alg: string
  readonly privateKey: CryptoKey
  readonly publicJwk: JWK
}

/** Generates the keys of every `jwks` fixture once per file (key generation is the slow part). */
export async function generateKeys(jwks: readonly JwksFixture[]): Promise<Map<string, SigningKey>> {
  const out = new Map<string, SigningKey>()
  for (const set of jwks) {
    for (const k of set.keys) {
      if (out.has(k.kid)) continue
      const alg = k.alg ?? 'RS256'
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
      out.set(k.kid, { kid: k.kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid: k.kid, alg, use: 'sig' } })
    }
  }
  return out
}

/** Signs a token for a case; `exp` defaults to ten minutes from now, `iat` to now. */
export async function signJwt(key: SigningKey, claims: Readonly<Record<string, unknown>>): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ iat: now, exp: now + 600, ...claims }).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey)
}

/**
 * A MockAgent answering `fixtures` (tried in order: the case's before the file's), with network
 * connections refused. Close it after the case.
 */
export function fakeServices(fixtures: readonly Fixtures[], keys: ReadonlyMap<string, SigningKey>): MockAgent {
  const agent = new MockAgent()
  agent.disableNetConnect()
  for (const f of fixtures) {
    for (const h of f.http ?? []) interceptHttp(agent, h)
    for (const j of f.jwks ?? []) {
      const doc = { keys: j.keys.map((k) => keys.get(k.kid)?.publicJwk) }
      interceptHttp(agent, { request: { method: 'GET', url: j.url }, response: { status: 200, json: doc } })
    }
  }
  return agent
}

function interceptHttp(agent: MockAgent, f: HttpFixture): void {
  const url = new URL(f.request.url)
  const wantQuery = url.search !== ''
  const path = (p: string): boolean => (wantQuery ? p === url.pathname + url.search : p.split('?')[0] === url.pathname)
  const r = f.response
  const headers: Record<string, string> = { ...(r.json !== undefined ? { 'content-type': 'application/json' } : {}), ...r.headers }
  agent
    .get(url.origin)
    .intercept({
      path,
      method: f.request.method === undefined ? () => true : f.request.method.toUpperCase(),
      headers: (h: Record<string, string>) => headersMatch(h, f.request.headers),
      // Handlers send strings or Buffers; the mock passes the body on as it got it.
      body: (b: string | Buffer | null | undefined) => bodyMatches(b == null ? undefined : b.toString(), f.request),
    })
    .reply(r.status ?? 200, r.json !== undefined ? JSON.stringify(r.json) : (r.body ?? ''), { headers })
    .persist()
}

function headersMatch(actual: Record<string, string | string[] | undefined>, want: Readonly<Record<string, string>> | undefined): boolean {
  if (want === undefined) return true
  const lower = new Map(Object.entries(actual).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v]))
  return Object.entries(want).every(([k, v]) => lower.get(k.toLowerCase()) === v)
}

function bodyMatches(body: string | undefined, want: HttpFixture['request']): boolean {
  if (want.form !== undefined) {
    const form = new URLSearchParams(body ?? '')
    if (!Object.entries(want.form).every(([k, v]) => form.get(k) === v)) return false
  }
  if (want.json !== undefined) {
    try {
      if (!contains(JSON.parse(body ?? ''), want.json)) return false
    } catch {
      return false
    }
  }
  return true
}

/** `actual` has every member of `want` (objects recursively; anything else equal). */
export function contains(actual: unknown, want: unknown): boolean {
  if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false
    const a = actual as Record<string, unknown>
    return Object.entries(want).every(([k, v]) => contains(a[k], v))
  }
  return JSON.stringify(actual) === JSON.stringify(want)
}
