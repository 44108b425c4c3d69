import { createHash } from 'node:crypto'

/**
 * What `rules explain` may print about a credential: a short fingerprint, never the value. Two
 * runs with the same token show the same fingerprint, so a user can tell "same token" from
 * "other token" without the token ever reaching a terminal or a CI log.
 */
export function fingerprint(value: string): string {
  return `[sha256:${createHash('sha256').update(value).digest('hex').slice(0, 8)}]`
}

/** Headers whose whole value is a credential (as the logger's list). */
const SECRET_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'x-api-key'])
const COOKIE_HEADERS: ReadonlySet<string> = new Set(['cookie', 'set-cookie'])

/**
 * Token-like runs: JWTs (`eyJ…` in three base64url parts) and runs of 20 or more token
 * characters that mix upper case, lower case and digits, as random secrets, opaque tokens
 * (`ory_at_…`) and session ids do. Paths, host names, subjects and scope lists stay readable.
 */
const TOKEN_LIKE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*|[A-Za-z0-9_\-+~]{20,}={0,2}/g

/** A free text (a reason, a subject, a header value) with token-like runs replaced by fingerprints. */
export function redactText(text: string): string {
  // The mix is checked on each run found rather than by lookaheads: linear in the text.
  return text.replace(TOKEN_LIKE, (t) => (t.startsWith('eyJ') || (/[0-9]/.test(t) && /[a-z]/.test(t) && /[A-Z]/.test(t)) ? fingerprint(t) : t))
}

/** One header value as explain shows it: scheme kept for Authorization, cookie names kept, values fingerprinted. */
export function redactHeader(name: string, value: string): string {
  const lower = name.toLowerCase()
  if (COOKIE_HEADERS.has(lower)) return redactCookies(value)
  if (SECRET_HEADERS.has(lower)) {
    const space = value.indexOf(' ')
    // `Bearer <token>`, `Basic <credentials>`: the scheme says which authenticator is concerned.
    return space > 0 && space < 20 ? `${value.slice(0, space)} ${fingerprint(value.slice(space + 1))}` : fingerprint(value)
  }
  return redactText(value)
}

/** `a=1; b=2` → `a=[sha256:…]; b=[sha256:…]`; Set-Cookie attributes after the first `;` are kept. */
function redactCookies(value: string): string {
  return value
    .split(';')
    .map((part) => {
      const eq = part.indexOf('=')
      if (eq === -1) return part
      const name = part.slice(0, eq)
      // Set-Cookie attributes (Path=/, Max-Age=…) are not secrets.
      if (/^\s*(path|domain|expires|max-age|samesite)$/i.test(name)) return part
      return `${name}=${fingerprint(part.slice(eq + 1).trim())}`
    })
    .join(';')
}

/** A headers object as explain shows it. */
export function redactHeaders(headers: Readonly<Record<string, string | readonly string[] | undefined>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, v] of Object.entries(headers)) {
    if (v === undefined) continue
    out[name] = (Array.isArray(v) ? v : [v as string]).map((x) => redactHeader(name, x)).join(', ')
  }
  return out
}
