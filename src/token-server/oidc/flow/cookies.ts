/**
 * The browser flow's cookies, named and shaped as Hydra's, so a login app or proxy that looks for
 * them (or a browser that still holds them across a migration) finds what it expects:
 * `<login_csrf>_<murmur3(client_id)>` and `<consent_csrf>_<…>` per client, and the
 * authentication session cookie. Hydra signs and encrypts its cookies (gorilla/securecookie);
 * here a CSRF value is a random id whose meaning lives only in the store. The session cookie
 * names the session id (`sid`), which is no secret (every ID token carries it), so its value is
 * the sid plus an HMAC under secrets.cookie (else secrets.system): knowing a sid is not enough to
 * forge a browser's session.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseCookie, stringifySetCookie, type SetCookie } from 'cookie'
import type { CookiePolicy } from './settings.js'

/** MurmurHash3 x86 32-bit, seed 0: Hydra's client cookie suffix (`client.CookieSuffix`). */
export function murmur3(text: string): number {
  const data = Buffer.from(text, 'utf8')
  const c1 = 0xcc9e2d51
  const c2 = 0x1b873593
  let h = 0
  const blocks = data.length >>> 2
  for (let i = 0; i < blocks; i++) {
    let k = data.readUInt32LE(i * 4)
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  let k = 0
  const tail = blocks * 4
  const rest = data.length & 3
  if (rest > 0) {
    if (rest === 3) k ^= data[tail + 2]! << 16
    if (rest >= 2) k ^= data[tail + 1]! << 8
    k ^= data[tail]!
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
  }
  h ^= data.length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * Hydra's per-client cookie suffix: `strconv.Itoa(int(murmur3.Sum32(id)))`. Go's `int` is 64
 * bits on the platforms Hydra ships for, so the number is the unsigned hash.
 */
export function cookieSuffix(clientId: string): string {
  return String(murmur3(clientId))
}

export function csrfCookieName(policy: CookiePolicy, kind: 'login' | 'consent', clientId: string): string {
  return `${kind === 'login' ? policy.loginCsrf : policy.consentCsrf}_${cookieSuffix(clientId)}`
}

/** The request's cookies (the first of a repeated name wins, as Go's Request.Cookie). */
export function readCookies(req: IncomingMessage): Record<string, string | undefined> {
  const header = req.headers.cookie
  return header === undefined ? {} : parseCookie(header)
}

/** Adds a Set-Cookie header, keeping those already set on the response. */
export function addCookie(res: ServerResponse, cookie: SetCookie): void {
  const prev = res.getHeader('set-cookie')
  const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)]
  res.setHeader('set-cookie', [...list, stringifySetCookie(cookie)])
}

/** A CSRF cookie: HttpOnly, path `/`, living as long as a login/consent request may. */
export function setCsrfCookie(res: ServerResponse, policy: CookiePolicy, name: string, value: string, maxAge: number): void {
  addCookie(res, { name, value, maxAge, path: '/', httpOnly: true, secure: policy.secure, ...attrs(policy) })
}

/**
 * The session cookie's signing keys from the configured secrets: the first signs, all verify
 * (rotation). Derived per purpose, so a cookie MAC is never a valid token HMAC or the reverse.
 */
export function sessionCookieKeys(secrets: readonly string[]): Buffer[] {
  return secrets.map((s) => createHash('sha256').update(`gatehouse session cookie\0${s}`).digest())
}

function sessionMac(key: Buffer, sid: string): Buffer {
  return createHmac('sha256', key).update(sid).digest()
}

/** The session cookie's value for a session id: `<sid>.<HMAC(sid)>`. */
export function sessionCookieValue(policy: CookiePolicy, sid: string): string {
  return `${sid}.${sessionMac(policy.sessionKeys[0]!, sid).toString('base64url')}`
}

/** The session id the request's session cookie names, if its signature is valid under one of the keys. */
export function readSessionId(req: IncomingMessage, policy: CookiePolicy): string | undefined {
  const value = readCookies(req)[policy.session]
  if (value === undefined) return undefined
  const dot = value.lastIndexOf('.')
  if (dot <= 0) return undefined
  const sid = value.slice(0, dot)
  const given = Buffer.from(value.slice(dot + 1), 'base64url')
  for (const key of policy.sessionKeys) {
    const expected = sessionMac(key, sid)
    if (given.length === expected.length && timingSafeEqual(given, expected)) return sid
  }
  return undefined
}

/** The authentication session cookie (signed); `maxAge` undefined makes it a browser-session cookie. */
export function setSessionCookie(res: ServerResponse, policy: CookiePolicy, sid: string, maxAge: number | undefined): void {
  addCookie(res, {
    name: policy.session,
    value: sessionCookieValue(policy, sid),
    path: policy.sessionPath,
    httpOnly: true,
    secure: policy.secure,
    ...(maxAge === undefined ? {} : { maxAge }),
    ...attrs(policy),
  })
}

/** Expires the authentication session cookie in the browser. */
export function clearSessionCookie(res: ServerResponse, policy: CookiePolicy): void {
  addCookie(res, { name: policy.session, value: '', path: policy.sessionPath, httpOnly: true, secure: policy.secure, maxAge: 0, expires: new Date(0), ...attrs(policy) })
}

function attrs(policy: CookiePolicy): Pick<SetCookie, 'sameSite' | 'domain'> {
  return { ...(policy.sameSite === undefined ? {} : { sameSite: policy.sameSite }), ...(policy.domain === undefined ? {} : { domain: policy.domain }) }
}
