/**
 * Request path normalisation. The gateway normalises a path once and then both matches and
 * forwards the result, so a request can never be authorised as one path and served as another
 * (`/public/../admin` matched by a `/public/<.*>` rule but served by the upstream as `/admin`).
 *
 * What is done, in order:
 * 1. percent-escapes of unreserved characters (ALPHA DIGIT - . _ ~) are decoded — they mean the
 *    same as the plain character (RFC 3986 §2.3), and decoding them first is what exposes
 *    `%2e%2e` as a `..` segment; every other escape is kept, its hex upper-cased (§6.2.2.1);
 * 2. empty segments are dropped (`//admin` → `/admin`), keeping a trailing slash;
 * 3. `.` and `..` segments are resolved (RFC 3986 remove_dot_segments; `..` above the root stays
 *    at the root).
 *
 * What is refused with 400, because the matcher and the upstream could disagree about it:
 * - `%2F` (encoded '/'): the matcher sees one segment `..%2Fadmin`, while upstreams that decode
 *   it (many frameworks, some proxies) see `../admin`;
 * - `%5C` and a literal '\': Windows servers and some frameworks treat '\' as a separator;
 * - `%00`: C-based upstreams truncate at NUL, serving a different path than was matched;
 * - invalid or truncated escapes (`%zz`, `%4`): upstreams repair them in different ways;
 * - a segment `.;…` or `..;…`: Java servlet containers strip `;params` and then resolve the
 *   dot segment (`/public/..;/admin` → `/admin`).
 */
import { GatehouseError } from '../errors.js'

const SLASH = 0x2f
const DOT = 0x2e
const PERCENT = 0x25
const BACKSLASH = 0x5c

/**
 * Normalises the path part of a request target (no query). Throws
 * GatehouseError('GATEHOUSE_ERR_BAD_REQUEST', {reason}) for paths it will not handle.
 */
export function normalizePath(rawPath: string): string {
  if (rawPath.charCodeAt(0) !== SLASH) throw bad('the path must start with "/"')
  // Fast path, one scan: most paths have no escape, no '//', no '/.' and no '\', and are
  // returned as they are (no allocation).
  for (let i = 1; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i)
    if (c === PERCENT || c === BACKSLASH) return slowPath(rawPath)
    if (rawPath.charCodeAt(i - 1) === SLASH && (c === SLASH || c === DOT)) return slowPath(rawPath)
  }
  return rawPath
}

function slowPath(rawPath: string): string {
  const segments = decodeUnreserved(rawPath).split('/')
  // segments[0] is the '' before the leading '/'.
  const out: string[] = []
  let trailingSlash = false
  const last = segments.length - 1
  for (let i = 1; i <= last; i++) {
    const seg = segments[i]!
    if (seg === '' || seg === '.') {
      trailingSlash = i === last
    } else if (seg === '..') {
      out.pop()
      trailingSlash = i === last
    } else {
      if (seg.startsWith('.;') || seg.startsWith('..;')) throw bad(`dot segment with parameters "${seg}"`)
      out.push(seg)
      trailingSlash = false
    }
  }
  if (out.length === 0) return '/'
  return `/${out.join('/')}${trailingSlash ? '/' : ''}`
}

/** Decodes escaped unreserved characters, upper-cases the hex of the others, rejects the unsafe. */
function decodeUnreserved(path: string): string {
  let out = ''
  let from = 0
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c === BACKSLASH) throw bad('backslash in path')
    if (c !== PERCENT) continue
    const hi = hexValue(path.charCodeAt(i + 1))
    const lo = hexValue(path.charCodeAt(i + 2))
    if (hi === -1 || lo === -1) throw bad(`invalid percent-escape "${path.slice(i, i + 3)}"`)
    const byte = hi * 16 + lo
    if (byte === SLASH || byte === BACKSLASH || byte === 0) {
      throw bad(`encoded ${byte === 0 ? 'NUL' : byte === SLASH ? 'slash' : 'backslash'} in path`)
    }
    out += path.slice(from, i)
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[hi]}${HEX[lo]}`
    from = i + 3
    i += 2
  }
  return out + path.slice(from)
}

const HEX = '0123456789ABCDEF'

/** 0–15 for a hex digit's char code, -1 otherwise (including NaN past the end). */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

/** RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) ||
    b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e
  )
}

function bad(reason: string): GatehouseError {
  return new GatehouseError('GATEHOUSE_ERR_BAD_REQUEST', { reason })
}
