/**
 * Load-time checks that keep a `regexp` rule from making one request take seconds.
 *
 * V8's regex engine backtracks. regexp.ts turns on V8's linear-time fallback, which takes over a
 * match after 1,000 backtracks, but only for regexes that engine can run: no lookarounds, no
 * backreferences, and no repetition counts above 16 (`{32}`, `{0,40}`: it unrolls counted
 * repetitions, and refuses to unroll more than 16 times, nested counts multiplied). A regex it
 * cannot run backtracks without bound, so such a regex must not contain what makes backtracking
 * blow up.
 *
 * The rules, from the scan below, V8's own verdict (`linearEngineCanRun`) and, for lookarounds
 * and backreferences, redos-detector (ambiguity.ts):
 * - a repeated group that itself repeats without bound (`(a+)+`, `(.*)*`) is always refused
 *   (the historical check: these are the textbook exponential cases);
 * - a pattern with a lookaround or a backreference (Oathkeeper compiles rules with
 *   dlclark/regexp2, which has both, and users carve paths out of a catch-all rule with
 *   `<(?!admin/).*>`) is accepted only when proved linear: no lookaround that reads an unbounded
 *   stretch (`(?!.*x)`) and no backreference where backtracking can re-evaluate it at many
 *   positions (after an unbounded repetition, or inside a repeated group), and redos-detector
 *   finds no text that the pattern matches in more than a few ways;
 * - otherwise, when V8 cannot run the whole regex in linear time (a count above 16 somewhere), a
 *   repeated group with alternatives or repetition inside (`(a|aa){0,40}`, `(?:(?:a|a){4}){5}`)
 *   is refused (exponential), and so are repetitions whose combined backtracking could grow with
 *   the square of the URL's length or faster (two `.*`, or `a*` next to several `a{0,16}`; three
 *   `.*` beside a `[0-9]{20}` took over a minute on an 8 KB URL). Such a pattern can always be
 *   written so that V8 can run it: `[0-9a-f]{16}[0-9a-f]{16}` instead of `[0-9a-f]{32}`.
 *
 * Only patterns that need it pay for redos-detector (milliseconds when safe, up to ~0.5 s when
 * not); the common ones (`<.*>`, `<[0-9a-f]{64}>`) are decided by the scan alone.
 */
import { setFlagsFromString } from 'node:v8'
import { unaidedProblem } from './ambiguity.js'

/** What the scan of one `<…>` group's regex source found. */
export interface Analysis {
  /** Capturing groups the user wrote (plain `(…)` and named `(?<n>…)`). */
  readonly captures: number
  /** Every `)` closes a `(` of the same group (unclosed `(` fail to compile anyway). */
  readonly balanced: boolean
  /** A group containing an unbounded quantifier is itself repeated without bound. */
  readonly nestedQuantifier: boolean
  /** `(?=`, `(?!`, `(?<=` or `(?<!`. */
  readonly lookaround: boolean
  /** `\1`…`\9` or `\k<name>` outside a character class. */
  readonly backreference: boolean
  /**
   * A lookaround that reads an unbounded stretch (`(?!.*\.\.)`) or a backreference (which
   * compares as much text as its group took): each evaluation can cost the URL's length.
   */
  readonly readsUnbounded: boolean
  /**
   * Such a lookaround or backreference where backtracking can evaluate it at many positions:
   * after an unbounded repetition (`.*(?!.*x)`) or inside a repeated group (`(?:(?!.*x).)*`).
   */
  readonly readsUnboundedRepeatedly: boolean
  /** A repetition without bound outside lookarounds (`*`, `+`, `{n,}`). */
  readonly unboundedRepeat: boolean
  /** A group containing `|` or a quantifier, repeated more than once (`(a|b){2,}`, `(x+){3}`). */
  readonly repeatedComplexGroup: boolean
  /**
   * How the worst-case backtracking of the group's repetitions grows, as a power of the URL's
   * length: each unbounded repetition counts 1 (it may take any part of the URL), a bounded one
   * with r choices log(r + 1) / log(16384) (16 KiB: the longest request line Node accepts).
   * Repetitions multiply, so the costs add up.
   */
  readonly repeatCost: number
}

/** log2 of 16 KiB, the longest request line (and so URL) Node's parser accepts by default. */
const LOG2_LONGEST_URL = 14
/**
 * From this cost on (see Analysis.repeatCost) a regex without the fallback is refused: 16384^1.75
 * is about 2.3·10⁷ backtracking steps, tens of milliseconds of CPU on a 16 KB URL. The bound was
 * n² once; a busy test run found `a{0,17}(a{1,40}a{0,16}a{17,}a)` (cost 1.97: 18·41·17 steps per
 * position) taking 306 ms on a 15 KB URL, under it.
 */
const MAX_REPEAT_COST = 1.75

/**
 * A lexical scan of JS regex source. It errs towards finding too much: a flag set here only
 * leads to a refusal in the combinations described at the top of this file.
 */
export function analyse(src: string): Analysis {
  let captures = 0
  let balanced = true
  let nestedQuantifier = false
  let lookaround = false
  let backreference = false
  let repeatedComplexGroup = false
  let repeatCost = 0
  let readsUnbounded = false
  let readsUnboundedRepeatedly = false
  // An unbounded repetition outside lookarounds seen so far, in source order.
  let unboundedSeen = false
  let lookDepth = 0
  // One entry per open group (index 0: the top level).
  const unbounded: boolean[] = [false] // contains an unbounded quantifier
  const complex: boolean[] = [false] // contains '|' or a quantifier
  const look: boolean[] = [false] // is a lookaround
  const reads: boolean[] = [false] // contains a lookaround or backreference that reads unbounded text
  const noteQuantifier = (q: Quantifier): void => {
    complex[complex.length - 1] = true
    if (q.max === Infinity) unbounded[unbounded.length - 1] = true
    // A lookaround consumes nothing: its repetitions do not multiply the ways to match.
    if (lookDepth > 0) return
    if (q.max === Infinity) unboundedSeen = true
    repeatCost += q.max === Infinity ? 1 : Math.min(1, Math.log2(q.max - q.min + 1) / LOG2_LONGEST_URL)
  }
  const noteReader = (): void => {
    readsUnbounded = true
    reads[reads.length - 1] = true
    if (unboundedSeen) readsUnboundedRepeatedly = true
  }
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (c === '\\') {
      const next = src[i + 1] ?? ''
      if ((next >= '1' && next <= '9') || (next === 'k' && src[i + 2] === '<')) {
        backreference = true
        noteReader()
      }
      i += 2
    } else if (c === '[') {
      i = skipClass(src, i)
    } else if (c === '|') {
      complex[complex.length - 1] = true
      i++
    } else if (c === '(') {
      i++
      let isLook = false
      if (src[i] === '?') {
        const a = src[i + 1]
        const b = src[i + 2]
        if (a === '=' || a === '!' || (a === '<' && (b === '=' || b === '!'))) isLook = lookaround = true
        // (?<name>…) captures; (?:…) and the lookarounds do not.
        else if (a === '<') captures++
        i++
      } else {
        captures++
      }
      if (isLook) lookDepth++
      unbounded.push(false)
      complex.push(false)
      look.push(isLook)
      reads.push(false)
    } else if (c === ')') {
      if (unbounded.length === 1) balanced = false
      const top = unbounded.length > 1
      let innerUnbounded = top ? unbounded.pop()! : false
      let innerComplex = top ? complex.pop()! : false
      const wasLook = top ? look.pop()! : false
      const innerReads = top ? reads.pop()! : false
      if (wasLook) {
        lookDepth--
        if (innerUnbounded) noteReader()
        // What a lookaround contains is checked where it is; it adds no way to consume the URL.
        innerUnbounded = innerComplex = false
      }
      const q = quantifier(src, i + 1)
      if (q !== undefined) {
        if (innerUnbounded && q.max === Infinity) nestedQuantifier = true
        if (innerComplex && q.max >= 2) repeatedComplexGroup = true
        if (innerReads && q.max >= 2) readsUnboundedRepeatedly = true
        noteQuantifier(q)
        i = q.end
      } else {
        i++
      }
      if (innerUnbounded) unbounded[unbounded.length - 1] = true
      if (innerComplex) complex[complex.length - 1] = true
      if (innerReads) reads[reads.length - 1] = true
    } else {
      const q = quantifier(src, i)
      if (q !== undefined) {
        noteQuantifier(q)
        i = q.end
      } else {
        i++
      }
    }
  }
  const unboundedRepeat = unboundedSeen
  return { captures, balanced, nestedQuantifier, lookaround, backreference, readsUnbounded, readsUnboundedRepeatedly, unboundedRepeat, repeatedComplexGroup, repeatCost }
}

interface Quantifier {
  /** Index just past it (and past a lazy `?`). */
  readonly end: number
  readonly min: number
  /** Infinity when unbounded. */
  readonly max: number
}

/** Reads a quantifier (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, optionally lazy) at `i`. */
function quantifier(src: string, i: number): Quantifier | undefined {
  const c = src[i]
  if (c === '*') return { end: lazy(src, i + 1), min: 0, max: Infinity }
  if (c === '+') return { end: lazy(src, i + 1), min: 1, max: Infinity }
  if (c === '?') return { end: lazy(src, i + 1), min: 0, max: 1 }
  if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i, i + 32))
    if (m !== null) {
      const min = Number(m[1])
      const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3])
      return { end: lazy(src, i + m[0].length), min, max }
    }
  }
  return undefined
}

/** Index just past the character class starting at `start` (a `[`). */
function skipClass(src: string, start: number): number {
  let i = start + 1
  while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1
  return i + 1
}

function lazy(src: string, i: number): number {
  return src[i] === '?' ? i + 1 : i
}

/** Makes the `l` (linear) flag available, so V8 can be asked whether its linear engine takes a regex. */
const LINEAR_FLAG = '--enable-experimental-regexp-engine'

/**
 * True when V8's linear-time engine can run `source` (so the fallback protects it), asked of V8
 * itself: the `l` flag refuses what that engine cannot run. If this V8 has no `l` flag at all,
 * the answer is false, which only makes the checks stricter.
 */
export function linearEngineCanRun(source: string): boolean {
  setFlagsFromString(LINEAR_FLAG)
  try {
    new RegExp(source, 'l')
    return true
  } catch {
    return false
  }
}

/**
 * Why a pattern must be refused, or undefined. `groups` are the analyses of its `<…>` groups,
 * `source` the anchored regex source they compile to (already known to be valid), `rest` the
 * same anchored source without the literal prefix (what the ambiguity analysis reads).
 */
export function backtrackingProblem(
  groups: readonly { readonly inner: string; readonly info: Analysis }[],
  source: string,
  rest: string,
): string | undefined {
  for (const { inner, info } of groups) {
    if (info.nestedQuantifier) {
      return (
        `group <${inner}> repeats a group that itself repeats (like (a+)+ or (.*)*); ` +
        'such patterns can take exponential time on a non-matching URL'
      )
    }
  }
  const special = groups.find((g) => g.info.lookaround || g.info.backreference)
  if (special !== undefined) return unaidedProblem(groups, special, rest)
  const complex = groups.find((g) => g.info.repeatedComplexGroup)
  const cost = groups.reduce((n, g) => n + g.info.repeatCost, 0)
  if (complex === undefined && cost < MAX_REPEAT_COST) return undefined
  if (linearEngineCanRun(source)) return undefined
  const why = 'the pattern cannot run on the linear-time regex engine (a repetition count above 16, such as {32} or {0,40}, is the usual reason: write [0-9a-f]{16}[0-9a-f]{16} for [0-9a-f]{32})'
  if (complex !== undefined) {
    return `group <${complex.inner}> repeats a group with alternatives or repetitions inside, and ${why}; such patterns can take exponential time on a non-matching URL`
  }
  return `${why}, and its variable-length repetitions (such as .* or {0,40}) can take time growing with nearly the square of the URL's length or faster on a non-matching URL`
}
