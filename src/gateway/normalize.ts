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
 * - a double-encoded '.', '/' or '\\' (`%252e`, `%252f`, `%255c`, any case, any depth) unless
 *   `serve.allow_double_encoded_paths`: an upstream that decodes twice reads `..` or a separator
 *   where the gateway matched a name;
 * - a segment `.;…` or `..;…` (`;` escaped or not): Java servlet containers strip `;params` and
 *   then resolve the dot segment (`/public/..;/admin` → `/admin`);
 * - an overlong UTF-8 sequence (`%C0%AF`, `%E0%80%AF`: '/' in two or three bytes): never valid
 *   UTF-8, but lenient decoders (IIS's unicode bug, some C libraries) read it as the ASCII
 *   character, so `..%C0%AFadmin` would be one segment here and `../admin` there;
 * - a character that Unicode compatibility normalisation (NFKC) or Windows "best fit" turns into
 *   '/', '\', '.' or '%' (fullwidth solidus U+FF0F, division slash U+2215, one dot leader
 *   U+2024, …), UTF-8 encoded: same reason, for upstreams that normalise or run on Windows
 *   ANSI APIs;
 * - a raw '#': a request target has no fragment (RFC 9112 §3.2), but upstreams that parse it as
 *   a URL cut the path there (`/public/..#/x` is `/` to them).
 * Escaped bytes that do not form UTF-8 (Latin-1 paths such as `caf%E9`) are kept as they are.
 * Rules are matched against this path decoded (match-path.ts); this path, escapes kept, is forwarded.
 * The decision API reads the path from a header, where bytes above 0x7F arrive unescaped (one
 * character each); they are checked the same way. Node's request-line parser refuses them.
 */
import { GatehouseError } from '../errors.js'

const SLASH = 0x2f
const DOT = 0x2e
const PERCENT = 0x25
const BACKSLASH = 0x5c
const HASH = 0x23

/** Path options (`serve.allow_double_encoded_paths`). */
export interface PathPolicy {
  /** Accept `%252e`, `%252f`, `%255c` (and deeper: `%25252f`); refused with 400 by default. */
  readonly allowDoubleEncoded: boolean
}

const STRICT: PathPolicy = { allowDoubleEncoded: false }

/**
 * An escaped '%' followed by the hex of '.', '/' or '\\' (any case, any depth): an upstream
 * that decodes twice reads a dot segment or a separator where the gateway matched a name.
 * Web application firewalls flag multiple encoding for this reason.
 */
const DOUBLE_ENCODED = /%25(?:25)*(?:2e|2f|5c)/i

/**
 * Normalises the path part of a request target (no query). Throws
 * GatehouseError('GATEHOUSE_ERR_BAD_REQUEST', {reason}) for paths it will not handle.
 */
export function normalizePath(rawPath: string, policy: PathPolicy = STRICT): string {
  if (rawPath.charCodeAt(0) !== SLASH) throw bad('the path must start with "/"')
  // Fast path, one scan: most paths have no escape, no '//', no '/.' and no '\', and are
  // returned as they are (no allocation).
  for (let i = 1; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i)
    if (c === PERCENT || c === BACKSLASH || c === HASH || c >= 0x80) return slowPath(rawPath, policy)
    if (rawPath.charCodeAt(i - 1) === SLASH && (c === SLASH || c === DOT)) return slowPath(rawPath, policy)
  }
  return rawPath
}

function slowPath(rawPath: string, policy: PathPolicy): string {
  const decoded = decodeUnreserved(rawPath)
  // Checked after one decoding of unreserved escapes, so `%25%32%65` (= `%252e`) is caught too.
  if (!policy.allowDoubleEncoded) {
    const m = DOUBLE_ENCODED.exec(decoded)
    if (m !== null) throw bad(`double-encoded "${m[0]}" in path (set serve.allow_double_encoded_paths to accept it)`)
  }
  const segments = decoded.split('/')
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
      if (isDotWithParameters(seg)) throw bad(`dot segment with parameters "${seg}"`)
      out.push(seg)
      trailingSlash = false
    }
  }
  if (out.length === 0) return '/'
  return `/${out.join('/')}${trailingSlash ? '/' : ''}`
}

/** `.;…` or `..;…`, the ';' escaped or not (the hex is upper-cased by then). */
function isDotWithParameters(seg: string): boolean {
  const rest = seg.startsWith('..') ? seg.slice(2) : seg.startsWith('.') ? seg.slice(1) : undefined
  return rest !== undefined && (rest.startsWith(';') || rest.startsWith('%3B'))
}

/** Decodes escaped unreserved characters, upper-cases the hex of the others, rejects the unsafe. */
function decodeUnreserved(path: string): string {
  let out = ''
  let from = 0
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c === BACKSLASH) throw bad('backslash in path')
    if (c === HASH) throw bad('"#" in path: a request target has no fragment')
    if (c >= 0x80) {
      // Above 0xFF only when called with a decoded string; HTTP hands over bytes (latin1).
      if (c > 0xff && isLookAlike(path.codePointAt(i)!)) throw bad(`"${String.fromCodePoint(path.codePointAt(i)!)}" in path: it reads as a path character to upstreams that normalise Unicode`)
      else checkUtf8(path, i)
      continue
    }
    if (c !== PERCENT) continue
    const hi = hexValue(path.charCodeAt(i + 1))
    const lo = hexValue(path.charCodeAt(i + 2))
    if (hi === -1 || lo === -1) throw bad(`invalid percent-escape "${path.slice(i, i + 3)}"`)
    const byte = hi * 16 + lo
    if (byte === SLASH || byte === BACKSLASH || byte === 0) {
      throw bad(`encoded ${byte === 0 ? 'NUL' : byte === SLASH ? 'slash' : 'backslash'} in path`)
    }
    if (byte >= 0x80) checkUtf8(path, i)
    out += path.slice(from, i)
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[hi]}${HEX[lo]}`
    from = i + 3
    i += 2
  }
  return out + path.slice(from)
}

/** The byte at `i` (an escape `%XX`, or a raw character up to 0xFF) and where the next starts. */
function byteAt(path: string, i: number): { byte: number; next: number } | undefined {
  const c = path.charCodeAt(i)
  if (c === PERCENT) {
    const hi = hexValue(path.charCodeAt(i + 1))
    const lo = hexValue(path.charCodeAt(i + 2))
    return hi === -1 || lo === -1 ? undefined : { byte: hi * 16 + lo, next: i + 3 }
  }
  return c >= 0x80 && c <= 0xff ? { byte: c, next: i + 1 } : undefined
}

/**
 * When the byte at `i` starts a complete UTF-8 sequence: refuses it if it is overlong or decodes
 * to a look-alike of a path character. A byte that starts no complete sequence (Latin-1, stray
 * continuation bytes) is left alone. Runs once per lead byte; continuation bytes start nothing.
 */
function checkUtf8(path: string, i: number): void {
  const lead = byteAt(path, i)
  if (lead === undefined) return
  const b = lead.byte
  const length = b >= 0xc0 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf7 ? 4 : 0
  if (length === 0) return
  let cp = b & (0x7f >> length)
  let at = lead.next
  for (let k = 1; k < length; k++) {
    const cont = byteAt(path, at)
    if (cont === undefined || cont.byte < 0x80 || cont.byte > 0xbf) return
    cp = (cp << 6) | (cont.byte & 0x3f)
    at = cont.next
  }
  if (cp < MIN_CODE_POINT[length]!) throw bad(`overlong UTF-8 sequence "${path.slice(i, at)}" in path (it reads as "${String.fromCharCode(cp)}" to lenient decoders)`)
  if (isLookAlike(cp)) throw bad(`"${String.fromCodePoint(cp)}" (U+${cp.toString(16).toUpperCase().padStart(4, '0')}) in path: it reads as a path character to upstreams that normalise Unicode`)
}

/** The smallest code point that needs 2, 3 or 4 bytes: anything below, so encoded, is overlong. */
const MIN_CODE_POINT: Readonly<Record<number, number>> = { 2: 0x80, 3: 0x800, 4: 0x10000 }

/** Windows best-fit maps these to '/' and '\' although NFKC leaves them alone. */
const BEST_FIT_SEPARATORS: ReadonlySet<number> = new Set([0x2215, 0x2216, 0x2044, 0x29f8, 0x29f9])
const PATH_SYNTAX = /[/\\.%]/

function isLookAlike(cp: number): boolean {
  return BEST_FIT_SEPARATORS.has(cp) || (cp <= 0x10ffff && PATH_SYNTAX.test(String.fromCodePoint(cp).normalize('NFKC')))
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
