/**
 * Which audiences a client may request: fosite's DefaultAudienceMatchingStrategy, which Hydra
 * uses. A requested audience matches a registered one with the same scheme and host when its path
 * is the same (trailing slashes aside) or lies below it: `https://api.test/users` allows
 * `https://api.test/users/1234` but not `https://api.test/users1234`. Values that are not URLs
 * (`my-api`) are paths without scheme or host, so the same rule applies to them.
 */
import { invalidRequest } from './oauth-error.js'

/** The parts of a URL that fosite compares, as Go's url.Parse splits them. */
interface UrlParts {
  readonly scheme: string
  readonly host: string
  /** Percent-decoded, as Go's URL.Path. */
  readonly path: string
  /** What follows `scheme:` when no `/` does (`urn:example:api`). */
  readonly opaque: string
}

/**
 * Throws invalid_request naming the first requested audience that no registered one allows,
 * or a value that is not a URL (as fosite: an unparseable registered audience fails the request).
 */
export function checkAudience(registered: readonly string[], requested: readonly string[]): void {
  for (const n of requested) {
    const nu = parseUrl(n)
    if (nu === undefined) throw invalidRequest(`Unable to parse requested audience '${n}'.`)
    let found = false
    for (const h of registered) {
      const hu = parseUrl(h)
      if (hu === undefined) throw invalidRequest(`Unable to parse whitelisted audience '${h}'.`)
      if (matches(hu, nu)) found = true
    }
    if (!found) throw invalidRequest(`Requested audience '${n}' has not been whitelisted by the OAuth 2.0 Client.`)
  }
}

function matches(allowed: UrlParts, requested: UrlParts): boolean {
  if (requested.scheme !== allowed.scheme || requested.host !== allowed.host) return false
  // fosite compares paths only, so for it `urn:a` allowed any `urn:…` (both paths are empty);
  // here the opaque parts must be equal too.
  if (requested.opaque !== allowed.opaque) return false
  const base = allowed.path.replace(/\/+$/, '')
  return requested.path === allowed.path || requested.path === base || requested.path.startsWith(`${base}/`)
}

/** Go's url.Parse, reduced to what the comparison needs; undefined where Go returns an error. */
function parseUrl(raw: string): UrlParts | undefined {
  if (/[\u0000-\u001f\u007f]/.test(raw)) return undefined
  let rest = raw
  const hash = rest.indexOf('#')
  if (hash !== -1) rest = rest.slice(0, hash)
  let scheme = ''
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(rest)
  if (m !== null) {
    scheme = m[0].slice(0, -1).toLowerCase()
    rest = rest.slice(m[0].length)
  } else if (rest.startsWith(':')) {
    return undefined // "missing protocol scheme"
  }
  const q = rest.indexOf('?')
  if (q !== -1) rest = rest.slice(0, q)
  if (!rest.startsWith('/')) {
    if (scheme !== '') return { scheme, host: '', path: '', opaque: rest }
    const colon = rest.indexOf(':')
    const slash = rest.indexOf('/')
    if (colon !== -1 && (slash === -1 || colon < slash)) return undefined // "first path segment in URL cannot contain colon"
  }
  let host = ''
  if ((scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    const end = rest.indexOf('/', 2)
    const authority = end === -1 ? rest.slice(2) : rest.slice(2, end)
    rest = end === -1 ? '' : rest.slice(end)
    host = authority.slice(authority.lastIndexOf('@') + 1)
    // Go refuses these in a host name ("invalid character in host name").
    if (/[\s"<>\\^`{|}]/.test(host)) return undefined
  }
  const path = unescapePath(rest)
  return path === undefined ? undefined : { scheme, host, path, opaque: '' }
}

/** Percent-decoding as Go's PathUnescape ('+' stays '+'); undefined on a bad escape. */
function unescapePath(s: string): string | undefined {
  if (!s.includes('%')) return s
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) return undefined
  const bytes: number[] = []
  for (let i = 0; i < s.length; ) {
    if (s[i] === '%') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16))
      i += 3
    } else {
      const cp = s.codePointAt(i)!
      bytes.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'))
      i += cp > 0xffff ? 2 : 1
    }
  }
  return Buffer.from(bytes).toString('utf8')
}
