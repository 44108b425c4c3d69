/**
 * The `glob` matching strategy. Oathkeeper compiles these with gobwas/glob, separators '.' and
 * '/'; inside `<…>`:
 *
 * - `*` any run of characters within one segment (crosses neither '.' nor '/'),
 * - `**` any run of characters, separators included,
 * - `?` one character that is not a separator,
 * - `[abc]`, `[a-z]` one character of the list/range, `[!abc]`, `[!a-z]` one not in it
 *   (as in gobwas, classes do not exclude separators),
 * - `{a,b}` one of the alternatives, each itself a glob (nesting allowed),
 * - `\x` the character x literally.
 *
 * Beyond Oathkeeper, each top-level `<…>` is a capture. The glob is translated once into an
 * anchored RegExp. The translation never puts a quantifier on a group (alternatives are not
 * repeated), so the nested-quantifier blow-up of a hand-written regex cannot arise; the
 * polynomial one of many stars (`*a*a*a*b`) is cut short by V8's linear-time fallback, which
 * compileAnchored turns on.
 */
import {
  compileAnchored,
  escapeRegExp,
  patternError,
  RegExpUrlMatcher,
  splitPattern,
  type UrlMatcher,
} from './regexp.js'

export function compileGlobMatcher(pattern: string): UrlMatcher {
  const { literals, groups } = splitPattern(pattern)
  let source = escapeRegExp(literals[0]!)
  const numbers: number[] = []
  for (let g = 0; g < groups.length; g++) {
    // The translation only emits non-capturing groups, so top-level group g is number g + 1.
    numbers.push(g + 1)
    source += `(${globToRegExp(pattern, groups[g]!)})${escapeRegExp(literals[g + 1]!)}`
  }
  return new RegExpUrlMatcher(pattern, literals[0]!, compileAnchored(pattern, source), numbers)
}

/** Regex source for one segment-bounded character (gobwas separators '.' and '/'). */
const NOT_SEPARATOR = '[^./]'

/** Translates the glob inside one `<…>` to regex source. */
export function globToRegExp(pattern: string, glob: string): string {
  // Outside any alternative, ',' and '}' are literal, so the top-level sequence runs to the end.
  return new GlobParser(pattern, glob).sequence(false)
}

class GlobParser {
  #i = 0

  constructor(
    readonly pattern: string,
    readonly glob: string,
  ) {}

  /** Parses until the end, or (inside `{…}`) until an unescaped ',' or '}'. */
  sequence(inAlternative: boolean): string {
    const g = this.glob
    let out = ''
    while (this.#i < g.length) {
      const c = g[this.#i]!
      if (inAlternative && (c === ',' || c === '}')) break
      this.#i++
      if (c === '\\') {
        if (this.#i >= g.length) throw this.error('a trailing "\\" escapes nothing')
        out += escapeRegExp(g[this.#i++]!)
      } else if (c === '*') {
        if (g[this.#i] === '*') {
          this.#i++
          out += '[^]*'
        } else {
          out += `${NOT_SEPARATOR}*`
        }
      } else if (c === '?') {
        out += NOT_SEPARATOR
      } else if (c === '[') {
        out += this.charClass()
      } else if (c === '{') {
        out += this.alternatives()
      } else {
        out += escapeRegExp(c)
      }
    }
    return out
  }

  /** `{a,b,…}` after the `{`: each alternative is a glob. */
  alternatives(): string {
    const alts: string[] = []
    for (;;) {
      alts.push(this.sequence(true))
      const c = this.glob[this.#i++]
      if (c === '}') return `(?:${alts.join('|')})`
      if (c !== ',') throw this.error('"{" is never closed')
    }
  }

  /** `[…]` after the `[`: a list of characters and ranges, negated by a leading '!'. */
  charClass(): string {
    const g = this.glob
    let negate = false
    if (g[this.#i] === '!') {
      negate = true
      this.#i++
    }
    let body = ''
    while (this.#i < g.length && g[this.#i] !== ']') {
      const lo = this.classChar()
      if (g[this.#i] === '-' && this.#i + 1 < g.length && g[this.#i + 1] !== ']') {
        this.#i++
        const hi = this.classChar()
        if (hi < lo) throw this.error(`range "${lo}-${hi}" is out of order`)
        body += `${escapeClassChar(lo)}-${escapeClassChar(hi)}`
      } else {
        body += escapeClassChar(lo)
      }
    }
    if (this.#i >= g.length) throw this.error('"[" is never closed')
    this.#i++ // ']'
    if (body === '') throw this.error('empty character class "[]"')
    return `[${negate ? '^' : ''}${body}]`
  }

  classChar(): string {
    const g = this.glob
    if (g[this.#i] === '\\') {
      this.#i++
      if (this.#i >= g.length) throw this.error('a trailing "\\" escapes nothing')
    }
    return g[this.#i++]!
  }

  error(problem: string): Error {
    return patternError(this.pattern, `glob <${this.glob}>: ${problem}`)
  }
}

function escapeClassChar(c: string): string {
  return /[\\\]\[^-]/.test(c) ? `\\${c}` : c
}
