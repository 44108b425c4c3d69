/**
 * Proof that a regex cannot backtrack super-linearly, for the patterns V8's linear-time engine
 * cannot take over (lookarounds, backreferences). It asks redos-detector (tjenkinson), which
 * walks every path through the regex and counts how many of them can match the same text: a
 * regex that matches every text in a bounded number of ways makes a backtracking engine take
 * time linear in the URL's length. It errs towards "unsafe": running out of steps, time or
 * score counts as ambiguous, and the pattern is refused.
 *
 * An analysis takes a few milliseconds for a safe pattern and up to about half a second for an
 * ambiguous one, so it runs only for patterns that need it (see backtracking.ts), and results
 * are memoised by source: rules differ in their literal host and path, not in their `<…>` parts,
 * and the literal text before the first `<…>` is left out of what is analysed.
 */
import { isSafe } from 'redos-detector'
import type { Analysis } from './backtracking.js'

/**
 * A pattern with a lookaround or a backreference: V8's linear-time engine runs neither, so
 * nothing cuts a long backtrack short, and the pattern is accepted only when it is proved to
 * match in linear time: no lookaround or backreference that reads an unbounded stretch is
 * evaluated at many positions, and no text can be matched in more than a few ways.
 */
export function unaidedProblem(
  groups: readonly { readonly inner: string; readonly info: Analysis }[],
  special: { readonly inner: string; readonly info: Analysis },
  rest: string,
): string | undefined {
  const construct = (info: Analysis): string =>
    info.lookaround ? 'a lookaround ((?=…) or (?!…))' : 'a backreference (\\1 or \\k<name>)'
  const lead = (g: { readonly inner: string; readonly info: Analysis }): string =>
    `group <${g.inner}> uses ${construct(g.info)}, which V8's linear-time regex engine cannot run`
  let unboundedBefore = false
  for (const g of groups) {
    if (g.info.readsUnboundedRepeatedly || (g.info.readsUnbounded && unboundedBefore)) {
      return (
        `${lead(g)}, and it reads an unbounded stretch of the URL (a lookaround containing * or +, or a backreference) ` +
        'where a repetition can move it (after .* or [^/]+, or inside a repeated group): each attempt re-reads the URL, ' +
        "so time grows with the square of the URL's length; put it at the start of the pattern's <…> parts, or bound what it reads"
      )
    }
    if (g.info.unboundedRepeat) unboundedBefore = true
  }
  const found = ambiguity(rest)
  if (found.safe) return undefined
  return (
    `${lead(special)}, and the pattern is ambiguous: ${found.detail}, so backtracking can take exponential or polynomial ` +
    'time on a non-matching URL; make the parts exclusive (e.g. [^/]* instead of .* before a "/")'
  )
}

export interface Ambiguity {
  /** True when the regex matches every text in at most MAX_WAYS ways. */
  readonly safe: boolean
  /** For a refusal: what redos-detector found (two ways through the same text, or its limit). */
  readonly detail: string
}

/** More ways than this to match one text is refused (redos-detector's default is 200). */
const MAX_WAYS = 50
/** Analysis steps; an ambiguous pattern uses them all (~0.1–0.5 s), the safe ones tried took far fewer. */
const MAX_STEPS = 500
/** Guard against a pathological analysis; hitting it means "not proved safe". */
const TIMEOUT_MS = 5000
/** Memo size: distinct analysed sources kept (a pure function's results, not shared state). */
const MEMO_SIZE = 1000

const memo = new Map<string, Ambiguity>()

/** Analyses anchored regex `source` (JS syntax, no flags). */
export function ambiguity(source: string): Ambiguity {
  const known = memo.get(source)
  if (known !== undefined) return known
  const result = analyse(source)
  if (memo.size >= MEMO_SIZE) memo.delete(memo.keys().next().value!)
  memo.set(source, result)
  return result
}

function analyse(source: string): Ambiguity {
  let r: ReturnType<typeof isSafe>
  try {
    // redos-detector's parser reads named groups only in unicode mode: number them instead.
    r = isSafe(new RegExp(unnamed(source)), { maxScore: MAX_WAYS, maxSteps: MAX_STEPS, timeout: TIMEOUT_MS })
  } catch (err) {
    return { safe: false, detail: `redos-detector could not analyse it (${(err as Error).message.split('\n')[0]})` }
  }
  if (r.safe) return { safe: true, detail: '' }
  const limit = r.error === 'hitMaxScore' ? `more than ${MAX_WAYS} ways to match the same text` : `no proof of fewer than ${MAX_WAYS} ways to match the same text within ${MAX_STEPS} analysis steps`
  const pair = r.trails[0]?.trail.at(-1)
  const where = pair === undefined ? '' : ` ("${pair.a.node.source}" and "${pair.b.node.source}" can take the same characters)`
  return { safe: false, detail: `redos-detector finds ${limit}${where}` }
}

/** `source` with `(?<name>` as `(` and `\k<name>` as `\N` (same numbering). */
function unnamed(source: string): string {
  if (!source.includes('(?<')) return source
  const numbers = new Map<string, number>()
  let captures = 0
  let out = ''
  let inClass = false
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!
    if (c === '\\') {
      const named = inClass ? null : /^\\k<([^>]+)>/.exec(source.slice(i))
      if (named !== null && numbers.has(named[1]!)) {
        out += `\\${numbers.get(named[1]!)}`
        i += named[0].length - 1
      } else {
        out += source.slice(i, i + 2)
        i++
      }
    } else if (inClass) {
      if (c === ']') inClass = false
      out += c
    } else if (c === '[') {
      inClass = true
      out += c
    } else if (c === '(') {
      const name = /^\(\?<([A-Za-z_$][\w$]*)>/.exec(source.slice(i))
      if (name !== null) {
        numbers.set(name[1]!, ++captures)
        out += '('
        i += name[0].length - 1
      } else {
        if (source[i + 1] !== '?') captures++
        out += c
      }
    } else {
      out += c
    }
  }
  return out
}
