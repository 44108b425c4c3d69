import type { AuthenticatorDef } from '../types.js'
import { compileSessionCheck, sessionCheckProperties, type SessionCheckConfig } from './session-check.js'

/** Config of the `cookie_session` authenticator (Oathkeeper's keys). */
export interface CookieSessionConfig extends SessionCheckConfig {
  /**
   * Cookie names that make this authenticator responsible. Empty or absent: any cookie does.
   * A request without one of them falls through to the next authenticator.
   */
  readonly only?: readonly string[]
}

/**
 * `cookie_session`: a request carrying cookies is checked by sending its Cookie header (plus
 * `forward_http_headers`) to `check_session_url`, e.g. Ory Kratos' `/sessions/whoami`.
 */
export const cookieSession = {
  id: 'cookie_session',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['check_session_url'],
    properties: {
      ...sessionCheckProperties('subject'),
      only: { type: 'array', items: { type: 'string', minLength: 1 } },
    },
  },
  create(config, deps) {
    const only = config.only ?? []
    const check = compileSessionCheck(config, 'cookie', 'cookie_session', deps)
    return (req, session) => {
      const header = req.headers.cookie
      if (header === undefined || !hasCookie(header, only)) return false
      return check(req, session)
    }
  },
} satisfies AuthenticatorDef<CookieSessionConfig>

/**
 * True when the Cookie header holds a cookie named in `names` (any cookie when `names` is
 * empty). Presence counts, not the value: `sid=` is a cookie, as Go's r.Cookie sees it.
 */
export function hasCookie(header: string, names: readonly string[]): boolean {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    const name = (eq === -1 ? part : part.slice(0, eq)).trim()
    if (name === '') continue
    if (names.length === 0 || names.includes(name)) return true
  }
  return false
}
