/**
 * CSRF protection of the app's own forms: a signed double-submit token. The browser gets a random
 * value in an HttpOnly cookie; each form carries HMAC(key, purpose, challenge, cookie value). A
 * POST is accepted only when the form's token is the HMAC of the cookie it came with, so another
 * site can neither read the token nor make one (it does not know the key), and a token made for
 * one challenge or form does not fit another.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { parse as parseCookies, serialize } from 'cookie'

export const CSRF_COOKIE = 'gatehouse_login_csrf'
const VALUE = /^[A-Za-z0-9_-]{43}$/

export interface Csrf {
  /** The token for a form; sets the cookie first when the browser has none. */
  issue(req: IncomingMessage, res: ServerResponse, purpose: string, challenge: string): string
  /** True when `token` was issued to this browser for this purpose and challenge. */
  check(req: IncomingMessage, purpose: string, challenge: string, token: string): boolean
}

/**
 * @param key signs tokens; random per process by default, so forms left open across a restart of
 *   the app are refused once (the user loads the page again).
 */
export function createCsrf(key: Buffer = randomBytes(32)): Csrf {
  const sign = (purpose: string, challenge: string, value: string): Buffer =>
    createHmac('sha256', key).update(`${purpose}\n${challenge}\n${value}`).digest()
  return {
    issue(req, res, purpose, challenge) {
      let value = cookieValue(req)
      if (value === undefined) {
        value = randomBytes(32).toString('base64url')
        // Lax, not Strict: the first page is reached by a redirect from the token server, and the
        // cookie must be there when its form is posted. HttpOnly: scripts never need it.
        res.appendHeader('set-cookie', serialize(CSRF_COOKIE, value, { httpOnly: true, sameSite: 'lax', path: '/' }))
      }
      return sign(purpose, challenge, value).toString('base64url')
    },
    check(req, purpose, challenge, token) {
      const value = cookieValue(req)
      if (value === undefined) return false
      const given = Buffer.from(token, 'base64url')
      const expected = sign(purpose, challenge, value)
      return given.length === expected.length && timingSafeEqual(given, expected)
    },
  }
}

function cookieValue(req: IncomingMessage): string | undefined {
  const value = parseCookies(req.headers.cookie ?? '')[CSRF_COOKIE]
  return value !== undefined && VALUE.test(value) ? value : undefined
}
