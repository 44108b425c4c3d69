/**
 * POSIX character classes in `regexp` rules. Oathkeeper compiles rules with dlclark/regexp2 in
 * its RE2 mode, which reads `[[:digit:]]` (and `[[:^digit:]]`, and `[[:alpha:]_-]`) as RE2 does.
 * JavaScript has no such syntax and reads `[[:digit:]]` as the class `[[:digt]` followed by a
 * literal `]`: it compiles and never matches what was meant. So each `[:name:]` inside a
 * bracket expression is replaced by the ASCII ranges RE2 gives it, and an unknown name is
 * refused, as RE2 refuses it. The RE2 escapes JavaScript would misread are refused too.
 */

/** Inclusive code-unit ranges, RE2's definitions (re2/syntax doc, regexp2 addNamedASCII). */
const CLASSES: Readonly<Record<string, readonly (readonly [number, number])[]>> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
}

/** The names RE2 knows, for error messages. */
export const POSIX_CLASS_NAMES = Object.keys(CLASSES)

/** Thrown for RE2 syntax with no JavaScript equivalent (an unknown `[[:name:]]`, `\pL`); the caller adds the pattern. */
export class Re2SyntaxError extends Error {}

/**
 * RE2 escapes that JavaScript (without the `u` flag) silently reads as the bare letter: `\A`
 * and `\z` (start and end of text), `\Q…\E` (literal text), `\C` (any byte), `\pL` and
 * `\p{Greek}` (Unicode classes). Refused rather than matched as letters.
 */
const RE2_ONLY_ESCAPES: Readonly<Record<string, string>> = {
  A: 'start of text (the pattern is anchored already)',
  z: 'end of text (the pattern is anchored already)',
  Q: 'quoted literal text',
  E: 'end of quoted literal text',
  C: 'any byte',
  p: 'a Unicode class',
  P: 'a negated Unicode class',
}

/**
 * Regex source with every `[:name:]` / `[:^name:]` inside a bracket expression replaced by
 * equivalent ranges (a negated one by the ranges of its complement over all UTF-16 code units,
 * the alphabet of a regex without the `u` flag), so it can stand beside other class members.
 * Source without `[:` is returned as it is.
 */
export function translatePosixClasses(src: string): string {
  if (!src.includes('[:') && !src.includes('\\')) return src
  let out = ''
  let inClass = false
  let i = 0
  while (i < src.length) {
    const c = src[i]!
    if (c === '\\') {
      const meaning = RE2_ONLY_ESCAPES[src[i + 1] ?? '']
      if (meaning !== undefined) {
        throw new Re2SyntaxError(`"\\${src[i + 1]}" (RE2: ${meaning}) has no equivalent in JavaScript regular expressions, which would read it as the letter`)
      }
      out += src.slice(i, i + 2)
      i += 2
    } else if (!inClass) {
      if (c === '[') inClass = true
      out += c
      i++
    } else if (c === ']') {
      inClass = false
      out += c
      i++
    } else if (c === '[' && src[i + 1] === ':') {
      const m = /^\[:(\^?)([A-Za-z]*):\]/.exec(src.slice(i, i + 16))
      if (m === null) {
        out += c
        i++
        continue
      }
      const ranges = CLASSES[m[2]!]
      if (ranges === undefined) {
        throw new Re2SyntaxError(`unknown POSIX character class "${m[0]}" (known: ${POSIX_CLASS_NAMES.join(', ')})`)
      }
      out += (m[1] === '^' ? complement(ranges) : ranges).map(rangeSource).join('')
      i += m[0].length
    } else {
      out += c
      i++
    }
  }
  return out
}

function complement(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = []
  let next = 0
  for (const [lo, hi] of ranges) {
    if (lo > next) out.push([next, lo - 1])
    next = hi + 1
  }
  if (next <= 0xffff) out.push([next, 0xffff])
  return out
}

function rangeSource([lo, hi]: readonly [number, number]): string {
  return lo === hi ? unit(lo) : `${unit(lo)}-${unit(hi)}`
}

function unit(code: number): string {
  return `\\u${code.toString(16).padStart(4, '0')}`
}
