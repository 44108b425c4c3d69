/**
 * The `regexp` matching strategy (Oathkeeper's default): text outside `<…>` is literal, each
 * top-level `<…>` is a regular expression, and the whole pattern is anchored. Oathkeeper builds
 * these with ory/ladon's compiler (delimiters `<` `>`, depth tracked); the splitting here follows
 * it, so the same rule files split the same way.
 *
 * This file also holds what both strategies share: the `UrlMatcher` contract, the `<…>`
 * splitter and the matcher object (the glob strategy compiles to a RegExp as well).
 */
import { setFlagsFromString } from 'node:v8'
import { ConfigError } from '../../errors.js'

export interface UrlMatcher {
  /** Captures of the top-level <…> groups, in order, or null when the URL does not match. */
  match(url: string): readonly string[] | null
  /** Literal text before the first <…> (scheme, host, leading path) — used by the index. */
  readonly prefix: string
  readonly pattern: string
}

/** A pattern cut at its top-level `<…>` groups: `literals.length === groups.length + 1`. */
export interface SplitPattern {
  readonly literals: readonly string[]
  /** The text inside each top-level `<…>`, delimiters removed. */
  readonly groups: readonly string[]
}

/** A ConfigError whose message names the pattern, so a rule author can find it. */
export function patternError(pattern: string, problem: string): ConfigError {
  return new ConfigError(`invalid pattern "${pattern}": ${problem}`)
}

/**
 * Splits at top-level `<…>`, counting nested `<` `>` like ladon's delimiterIndices: a `>` with no
 * open `<`, or a `<` never closed, is an error. There is no escape for the delimiters (as in ladon).
 */
export function splitPattern(pattern: string): SplitPattern {
  const literals: string[] = []
  const groups: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '<') {
      if (depth++ === 0) {
        literals.push(pattern.slice(start, i))
        start = i + 1
      }
    } else if (c === '>') {
      if (depth === 0) throw patternError(pattern, `unbalanced ">" at offset ${i}`)
      if (--depth === 0) {
        groups.push(pattern.slice(start, i))
        start = i + 1
      }
    }
  }
  if (depth !== 0) throw patternError(pattern, 'unbalanced "<": a group is never closed')
  literals.push(pattern.slice(start))
  return { literals, groups }
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

const NO_CAPTURES: readonly string[] = Object.freeze([])

/** Runs a compiled, anchored RegExp and reads the exposed captures by their group numbers. */
export class RegExpUrlMatcher implements UrlMatcher {
  readonly #re: RegExp
  readonly #groups: readonly number[]

  constructor(
    readonly pattern: string,
    readonly prefix: string,
    re: RegExp,
    groups: readonly number[],
  ) {
    this.#re = re
    this.#groups = groups
  }

  match(url: string): readonly string[] | null {
    const m = this.#re.exec(url)
    if (m === null) return null
    const n = this.#groups.length
    if (n === 0) return NO_CAPTURES
    const out = new Array<string>(n)
    // An optional group that did not take part is undefined in JS; expose '' like Go does.
    for (let i = 0; i < n; i++) out[i] = m[this.#groups[i]!] ?? ''
    return out
  }
}

/**
 * V8's regex engine backtracks: `.*a.*a.*a.*b` (or the glob `*a*a*a*b`) against a long URL
 * that does not match takes polynomial time, and the nested-quantifier check below cannot
 * catch every such pattern. This V8 flag makes a regex that exceeds 50,000 backtracks finish on
 * V8's linear-time engine (same results, captures included; only regexes without lookaround
 * or backreferences qualify), which gives Oathkeeper's RE2-like guarantee. It is process-wide
 * and idempotent, and must be on before the first match, so it is set where every matcher
 * regex is built.
 */
const LINEAR_FALLBACK = '--enable-experimental-regexp-engine-on-excessive-backtracks'

/** Compiles anchored regex source, turning the engine's SyntaxError into a ConfigError. */
export function compileAnchored(pattern: string, source: string): RegExp {
  setFlagsFromString(LINEAR_FALLBACK)
  try {
    return new RegExp(`^${source}$`)
  } catch (err) {
    throw patternError(pattern, (err as Error).message)
  }
}

export function compileRegexpMatcher(pattern: string): UrlMatcher {
  const { literals, groups } = splitPattern(pattern)
  let source = escapeRegExp(literals[0]!)
  const numbers: number[] = []
  let next = 1
  for (let g = 0; g < groups.length; g++) {
    const inner = groups[g]!
    const info = analyse(inner)
    // `<a)(b>` would compile (as `(a)(b)`) but no longer be one group: refuse it.
    if (!info.balanced) throw patternError(pattern, `group <${inner}> has unbalanced parentheses`)
    if (info.nestedQuantifier) {
      throw patternError(
        pattern,
        `group <${inner}> repeats a group that itself repeats (like (a+)+ or (.*)*); ` +
          'such patterns can take exponential time on a non-matching URL',
      )
    }
    // Each top-level group becomes one capturing group; the user's own groups inside it come
    // after it, so the exposed capture is at `next` and the following one skips past them.
    numbers.push(next)
    next += 1 + info.captures
    source += `(${inner})${escapeRegExp(literals[g + 1]!)}`
  }
  const re = compileAnchored(pattern, source)
  // Safety net for the lexical group count above: the engine's own count must agree, else the
  // captures would silently be the wrong ones.
  const total = new RegExp(`${re.source}|`).exec('')!.length - 1
  if (total !== next - 1) throw patternError(pattern, 'could not determine the capture groups')
  return new RegExpUrlMatcher(pattern, literals[0]!, re, numbers)
}

interface Analysis {
  /** Capturing groups the user wrote (plain `(…)` and named `(?<n>…)`). */
  readonly captures: number
  /** A group containing an unbounded quantifier is itself repeated without bound. */
  readonly nestedQuantifier: boolean
  /** Every `)` closes a `(` of the same group (unclosed `(` fail to compile anyway). */
  readonly balanced: boolean
}

/**
 * A lexical scan of JS regex source. The catastrophic-backtracking check is a heuristic: it
 * rejects a group that contains `*`, `+` or `{n,}` and is itself followed by one of those
 * (`(a+)+`, `(.*)*`, `(?:x[a-z]+)*`). It does not catch overlapping alternatives (`(a|a)*`) nor
 * polynomial cases like `.*.*.*`; it errs towards rejecting, and a rule can always be
 * rewritten without the outer repetition (e.g. `[a-z/]*` instead of `([a-z]+/)*`).
 */
function analyse(src: string): Analysis {
  let captures = 0
  let nestedQuantifier = false
  let balanced = true
  // One flag per open group (index 0: the top level): "contains an unbounded quantifier".
  const unbounded: boolean[] = [false]
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (c === '\\') {
      i += 2
    } else if (c === '[') {
      i = skipClass(src, i)
    } else if (c === '(') {
      i++
      if (src[i] === '?') {
        // (?<name>…) captures; (?:…) (?=…) (?!…) (?<=…) (?<!…) do not.
        if (src[i + 1] === '<' && src[i + 2] !== '=' && src[i + 2] !== '!') captures++
        i++
      } else {
        captures++
      }
      unbounded.push(false)
    } else if (c === ')') {
      if (unbounded.length === 1) balanced = false
      const inner = unbounded.length > 1 ? unbounded.pop()! : false
      const q = quantifier(src, i + 1)
      if (inner && q.unbounded) nestedQuantifier = true
      if (inner || q.unbounded) unbounded[unbounded.length - 1] = true
      i = q.end
    } else {
      const q = quantifier(src, i)
      if (q.end > i) {
        if (q.unbounded) unbounded[unbounded.length - 1] = true
        i = q.end
      } else {
        i++
      }
    }
  }
  return { captures, nestedQuantifier, balanced }
}

/** Index just past the character class starting at `start` (a `[`). */
function skipClass(src: string, start: number): number {
  let i = start + 1
  while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1
  return i + 1
}

/** Reads a quantifier (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, optionally lazy) at `i`. */
function quantifier(src: string, i: number): { end: number; unbounded: boolean } {
  const c = src[i]
  if (c === '*' || c === '+') return { end: lazy(src, i + 1), unbounded: true }
  if (c === '?') return { end: lazy(src, i + 1), unbounded: false }
  if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i, i + 32))
    if (m !== null) return { end: lazy(src, i + m[0].length), unbounded: m[2] !== undefined && m[3] === '' }
  }
  return { end: i, unbounded: false }
}

function lazy(src: string, i: number): number {
  return src[i] === '?' ? i + 1 : i
}
