/**
 * The form of a normalised path that rules are matched against. Oathkeeper matches Go's decoded
 * `URL.Path`, so `/urn:foo:w%3Fr` matches a rule written with a literal `?` and `/caf%C3%A9` one
 * written with `é`. The gateway does the same, while forwarding the normalised path with its
 * escapes (what the client sent, minus what normalisation resolved): an upstream that decodes
 * it once reads exactly the string that was matched.
 *
 * Decoding cannot move a request to another rule's path: normalizePath has already refused
 * every escape that decodes to a separator (`%2F`, `%5C`), NUL, dot segments in any spelling,
 * overlong UTF-8, Unicode look-alikes of path characters and (by default) double encoding.
 *
 * Kept escaped (upper-case hex), so matching never sees them raw:
 * - control characters (`%00`–`%1F`, `%7F`, and U+0080–U+009F): they have no business in a
 *   pattern, and a capture carrying CR/LF into a header template must stay inert text;
 * - bytes that are not part of valid UTF-8 (a Latin-1 `caf%E9`).
 * The price is one ambiguity: `%2501` (the text "%01") and `%01` both match as `%01`; both are
 * the same path to the rules, and neither can reach another one.
 */

const PERCENT = 0x25

/** The match form of a normalised path (returned as is, without allocating, when it has no escape). */
export function matchPath(path: string): string {
  let i = 0
  for (; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c === PERCENT || c >= 0x80) break
  }
  if (i === path.length) return path
  let out = path.slice(0, i)
  while (i < path.length) {
    const c = path.charCodeAt(i)
    if (c !== PERCENT && c < 0x80) {
      out += path[i]
      i++
      continue
    }
    if (c > 0xff) {
      // Already a character (not from HTTP, where the path arrives as bytes): keep it.
      out += path[i]
      i++
      continue
    }
    const lead = byteAt(path, i)!
    const decoded = utf8At(path, lead)
    if (decoded === undefined) {
      out += escape(lead.byte)
      i = lead.next
    } else {
      out += decoded.text
      i = decoded.next
    }
  }
  return out
}

interface Byte {
  readonly byte: number
  readonly next: number
}

/** The byte at `i`: an escape `%XX` (normalisation guarantees it is valid), or a raw byte 0x80–0xFF. */
function byteAt(path: string, i: number): Byte | undefined {
  const c = path.charCodeAt(i)
  if (c === PERCENT) {
    const byte = Number.parseInt(path.slice(i + 1, i + 3), 16)
    return Number.isNaN(byte) ? undefined : { byte, next: i + 3 }
  }
  return c >= 0x80 && c <= 0xff ? { byte: c, next: i + 1 } : undefined
}

/** The character a valid UTF-8 sequence starting with `lead` encodes, or undefined to keep it escaped. */
function utf8At(path: string, lead: Byte): { text: string; next: number } | undefined {
  const b = lead.byte
  if (b < 0x80) return b < 0x20 || b === 0x7f ? undefined : { text: String.fromCharCode(b), next: lead.next }
  const length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0
  if (length === 0) return undefined
  let cp = b & (0x7f >> length)
  let at = lead.next
  for (let k = 1; k < length; k++) {
    const cont = byteAt(path, at)
    if (cont === undefined || cont.byte < 0x80 || cont.byte > 0xbf) return undefined
    cp = (cp << 6) | (cont.byte & 0x3f)
    at = cont.next
  }
  const min = length === 2 ? 0x80 : length === 3 ? 0x800 : 0x10000
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp <= 0x9f) return undefined
  return { text: String.fromCodePoint(cp), next: at }
}

function escape(byte: number): string {
  return `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
}
