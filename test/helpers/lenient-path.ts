// How lenient servers read a path: every way a path the gateway forwarded could be read as a
// different one. Double decoding (a second %-decoding by a broken chain) is not modelled: the
// gateway forwards `%252f` as it came, and one decoding makes it the name `%2f`.

/** Percent-decodes once, reading overlong UTF-8 as lenient decoders do, then NFKC. */
export function lenientDecode(s: string): string {
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const hex = s.slice(i + 1, i + 3)
    if (s[i] === '%' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16))
      i += 2
    } else bytes.push(s.charCodeAt(i) & 0xff)
  }
  let out = ''
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!
    const n = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1
    // Overlong forms are accepted; continuation bytes must still look like ones (10xxxxxx).
    if (n === 1 || i + n > bytes.length || bytes.slice(i + 1, i + n).some((c) => c < 0x80 || c > 0xbf)) {
      out += String.fromCharCode(b)
      i++
      continue
    }
    let cp = b & (0x7f >> n)
    for (let k = 1; k < n; k++) cp = (cp << 6) | (bytes[i + k]! & 0x3f)
    out += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd'
    i += n
  }
  return out.normalize('NFKC')
}

/**
 * The segments of a forwarded path as the most lenient server reads them: '#' starts a fragment,
 * '\' separates like '/', one decoding (with overlong forms), NFKC, ';params' stripped (before
 * or after decoding), then dot segments resolved.
 */
export function lenientSegments(url: string): string[] {
  const path = url.split('?')[0]!.split('#')[0]!
  const out: string[] = []
  for (const raw of path.split('/')) {
    for (const piece of lenientDecode(raw.split(';')[0]!).split(/[/\\]/)) {
      const seg = piece.split(';')[0]!
      if (seg === '' || seg === '.') continue
      if (seg === '..') out.pop()
      else out.push(seg.toLowerCase())
    }
  }
  return out
}

