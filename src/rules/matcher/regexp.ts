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
import { analyse, backtrackingProblem, type Analysis } from './backtracking.js'
import { Re2SyntaxError, translatePosixClasses } from './posix.js'

export interface UrlMatcher {
  /** Captures of the top-level <…> groups, in order, or null when the URL does not match. */
  match(url: string): readonly string[] | null
  /** Literal text before the first <…> (scheme, host, leading path) — used by the index. */
  readonly prefix: string
  readonly pattern: string
  /** A copy of the anchored RegExp it runs (`^…$`, no flags): what the overlap analysis reads. */
  readonly regex: RegExp
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

  /**
   * A separate object, so exec() on the matcher's own RegExp stays the only use of it. Made on
   * demand: only the overlap analysis asks, once per rule set, and keeping a second RegExp per
   * rule would cost every rule its memory.
   */
  get regex(): RegExp {
    return new RegExp(this.#re.source, this.#re.flags)
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
 * that does not match takes polynomial time, and no load-time check can catch every such
 * pattern. This V8 flag makes a regex that exceeds a number of backtracks finish on V8's
 * linear-time engine (same results, captures included), which gives Oathkeeper's RE2-like
 * guarantee. Only regexes that engine can run qualify (no lookarounds, no backreferences, no
 * repetition counts above 16); backtracking.ts checks the others. The flags are process-wide
 * and idempotent, and must be on before the first match, so they are set where every matcher
 * regex is built.
 */
const LINEAR_FALLBACK = '--enable-experimental-regexp-engine-on-excessive-backtracks'

/**
 * How many backtracks V8 allows before that switch (V8's default is 50,000). The count is not a
 * bound on the work: a greedy loop over one character (`a{3,}`, `.*`) gives back characters
 * without counting them as backtracks, so every counted backtrack can be followed by a walk over
 * the whole URL. With 50,000, `(?:a|a){0,16}a{3,}` spent ~1 s of CPU on a 16 KB URL before
 * switching, and `(.*)/(.*)x` ~180 ms (issue 13); with 1,000 both stay near 20 ms, about what
 * the linear engine itself takes on such a URL. An ordinary URL match backtracks a handful of
 * times, so it never reaches the limit and keeps the fast engine. Other regexes in the process
 * that exceed the limit switch engines too, which changes only their speed, never their result.
 */
const BACKTRACKS_BEFORE_FALLBACK = '--regexp-backtracks-before-fallback=1000'

/** Compiles anchored regex source, turning the engine's SyntaxError into a ConfigError. */
export function compileAnchored(pattern: string, source: string): RegExp {
  setFlagsFromString(LINEAR_FALLBACK)
  setFlagsFromString(BACKTRACKS_BEFORE_FALLBACK)
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
  const analysed: { inner: string; info: Analysis }[] = []
  let next = 1
  for (let g = 0; g < groups.length; g++) {
    const written = groups[g]!
    const inner = posixTranslated(pattern, written)
    const info = analyse(inner)
    // `<a)(b>` would compile (as `(a)(b)`) but no longer be one group: refuse it.
    if (!info.balanced) throw patternError(pattern, `group <${written}> has unbalanced parentheses`)
    analysed.push({ inner: written, info })
    // Each top-level group becomes one capturing group; the user's own groups inside it come
    // after it, so the exposed capture is at `next` and the following one skips past them.
    numbers.push(next)
    next += 1 + info.captures
    source += `(${inner})${escapeRegExp(literals[g + 1]!)}`
  }
  const re = compileAnchored(pattern, source)
  const problem = backtrackingProblem(analysed, re.source, `^${source.slice(escapeRegExp(literals[0]!).length)}$`)
  if (problem !== undefined) throw patternError(pattern, problem)
  // Safety net for the lexical group count above: the engine's own count must agree, else the
  // captures would silently be the wrong ones. Groups without a "(" hold no group of their own,
  // so the count is the number of groups; the check (a second regex compiled and run) is only
  // paid where the user wrote parentheses.
  if (groups.some((g) => g.includes('('))) {
    const total = new RegExp(`${re.source}|`).exec('')!.length - 1
    if (total !== next - 1) throw patternError(pattern, 'could not determine the capture groups')
  }
  return new RegExpUrlMatcher(pattern, literals[0]!, re, numbers)
}

/** A group's source with RE2's POSIX classes (`[[:digit:]]`) translated; see posix.ts. */
function posixTranslated(pattern: string, inner: string): string {
  try {
    return translatePosixClasses(inner)
  } catch (err) {
    if (err instanceof Re2SyntaxError) throw patternError(pattern, `group <${inner}>: ${err.message}`)
    throw err
  }
}
