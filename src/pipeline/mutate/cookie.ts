import { ConfigError } from '../../errors.js'
import { setSessionHeader } from '../remote-call.js'
import { compileTemplate, type Template } from '../template.js'
import type { MutatorDef } from '../types.js'

/** Config of the `cookie` mutator (Oathkeeper's keys). */
export interface CookieMutatorConfig {
  /**
   * Cookie name → template rendered with the session, e.g. `user: "{{ print .Subject }}"`.
   * A rendered cookie replaces the client's cookie of the same name; the client's other
   * cookies are kept.
   */
  readonly cookies: Readonly<Record<string, string>>
}

/** RFC 6265 cookie-name: an RFC 7230 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** Bytes Go allows in a cookie value: printable ASCII except `"`, `;` and `\`. */
const INVALID_VALUE_BYTES = /[^\x20\x21\x23-\x3a\x3c-\x5b\x5d-\x7e]/g

/**
 * `cookie`: sets the upstream Cookie header to the rule's rendered cookies followed by the
 * client's cookies whose names the rule does not set, as Oathkeeper does (Go's AddCookie: the
 * pairs joined with "; ", invalid value bytes dropped, a value with a space or comma quoted).
 */
export const cookie = {
  id: 'cookie',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['cookies'],
    properties: { cookies: { type: 'object', additionalProperties: { type: 'string' } } },
  },
  create(config) {
    const compiled: Array<readonly [name: string, template: Template]> = []
    const problems: string[] = []
    for (const [name, source] of Object.entries(config.cookies)) {
      if (!TOKEN.test(name)) {
        problems.push(`cookies: "${name}" is not a valid cookie name`)
        continue
      }
      try {
        compiled.push([name, compileTemplate(source, `cookies.${name}`)])
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err
        problems.push(...err.problems)
      }
    }
    if (problems.length > 0) throw new ConfigError(problems.length === 1 ? problems[0]! : 'invalid cookies', problems)
    const ruleNames: ReadonlySet<string> = new Set(compiled.map(([n]) => n))

    return (req, session) => {
      const pairs: string[] = []
      for (const [name, template] of compiled) pairs.push(`${name}=${cookieValue(template(session))}`)
      const incoming = req.headers.cookie
      if (incoming !== undefined) {
        for (const part of incoming.split(';')) {
          const eq = part.indexOf('=')
          if (eq === -1) continue
          const name = part.slice(0, eq).trim()
          if (!TOKEN.test(name) || ruleNames.has(name)) continue
          pairs.push(`${name}=${cookieValue(unquote(part.slice(eq + 1).trim()))}`)
        }
      }
      setSessionHeader(session.Header, 'Cookie', pairs.join('; '))
    }
  },
} satisfies MutatorDef<CookieMutatorConfig>

/** Go's sanitizeCookieValue: drop bytes a cookie value cannot hold, quote one with a space or comma. */
function cookieValue(v: string): string {
  const clean = v.replace(INVALID_VALUE_BYTES, '')
  return clean.includes(' ') || clean.includes(',') ? `"${clean}"` : clean
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v
}
