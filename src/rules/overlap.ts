/**
 * Finds pairs of rules that can match the same request, with a concrete witness (a method and a
 * URL both match), computed from the patterns rather than by sampling URLs: each rule's compiled
 * RegExp (the one the matcher runs) becomes a finite automaton with refa, two automata are
 * intersected, and the shortest word of the intersection is the witness. Every witness is then
 * run through both rules' real matchers; a witness that fails there is reported as a failed
 * analysis, never as an overlap.
 *
 * refa reads every regular language JavaScript can write. Backreferences it cannot resolve and
 * lookarounds it cannot inline are not regular: such a rule is analysed with its lookarounds
 * ignored and its backreferences read as "any text" (a superset of its URLs). An empty intersection then still proves the pair disjoint,
 * and a candidate word that both real matchers accept proves an overlap; otherwise the pair is
 * reported as one that could not be analysed, never guessed either way.
 *
 * Pairs are pruned as the rule index prunes requests: two patterns can only share a URL when one
 * literal prefix starts with the other, and only when their method sets meet. Automata are built
 * for what follows the literal prefix, once per distinct text (rules differ in their host and
 * path, seldom in their `<…>` parts), and the longer prefix's extra text is put in front of its
 * automaton for a pair.
 */
import {
  CharSet,
  getIntersectionWordSets,
  JS,
  NFA,
  Transformers,
  transform,
  Words,
  type Element,
  type Expression,
  type NoParent,
  type ReadonlyWordSet,
} from 'refa'
import type { UrlMatcher } from './matcher/index.js'
import { escapeRegExp } from './matcher/regexp.js'

/** What the analysis needs of a compiled rule. */
export interface AnalysedRule {
  readonly id: string
  readonly source: string
  readonly matcher: UrlMatcher
  /** Upper-case methods. */
  readonly methods: ReadonlySet<string>
  readonly priority: number
}

export interface Witness {
  readonly method: string
  readonly url: string
}

export interface Overlap {
  readonly rules: readonly [AnalysedRule, AnalysedRule]
  readonly witness: Witness
}

/** A pair that may overlap, but the patterns use a construct that cannot be analysed. */
export interface Undecided {
  readonly rules: readonly [AnalysedRule, AnalysedRule]
  readonly reason: string
}

export interface NeverMatches {
  readonly rule: AnalysedRule
  readonly reason: string
}

export interface OverlapReport {
  readonly overlaps: readonly Overlap[]
  readonly undecided: readonly Undecided[]
  readonly neverMatches: readonly NeverMatches[]
  /** Pairs left after pruning by prefix and methods, each intersected. */
  readonly pairsAnalysed: number
  /** True when `maxPairs` stopped the analysis: pairs after that were not looked at. */
  readonly truncated: boolean
}

export interface OverlapOptions {
  /** At most this many pairs are intersected (bounds the work of a reload); default unlimited. */
  readonly maxPairs?: number
}

/** A rule's URL language: exact, a superset (lookarounds ignored), or none (unanalysable). */
type Language =
  | { readonly kind: 'exact'; readonly nfa: NFA }
  | { readonly kind: 'superset'; readonly nfa: NFA; readonly reason: string }
  | { readonly kind: 'unknown'; readonly reason: string }

/** Automaton size limit per rule and per intersection: a guard against pathological patterns. */
const MAX_NODES = 20_000
/** Candidate words tried against the real matchers when one side is only a superset. */
const CANDIDATES = 32

/** Runs the whole analysis at once (the CLI). */
export function analyseOverlaps(rules: readonly AnalysedRule[], opts: OverlapOptions = {}): OverlapReport {
  const steps = analysisSteps(rules, opts)
  for (;;) {
    const next = steps.next()
    if (next.done === true) return next.value
  }
}

/**
 * Runs the analysis in slices of at most `sliceMs` of work, yielding to the event loop between
 * them, so that a gateway keeps answering requests while it analyses a reloaded set. Resolves
 * undefined when `stale()` turns true between slices (a newer set arrived: its own analysis
 * replaces this one).
 */
export async function analyseOverlapsInSlices(
  rules: readonly AnalysedRule[],
  opts: OverlapOptions & { readonly sliceMs: number; readonly stale: () => boolean },
): Promise<OverlapReport | undefined> {
  const steps = analysisSteps(rules, opts)
  for (;;) {
    const end = performance.now() + opts.sliceMs
    for (;;) {
      const next = steps.next()
      if (next.done === true) return next.value
      if (performance.now() >= end) break
    }
    await new Promise<void>((resolve) => setImmediate(resolve))
    if (opts.stale()) return undefined
  }
}

/** The analysis, yielding after each automaton built and each pair intersected. */
function* analysisSteps(rules: readonly AnalysedRule[], opts: OverlapOptions): Generator<void, OverlapReport> {
  const maxPairs = opts.maxPairs ?? Infinity
  const overlaps: Overlap[] = []
  const undecided: Undecided[] = []
  const neverMatches: NeverMatches[] = []
  // Per call, keyed by the regex source after the literal prefix.
  const languages = new Map<string, Language>()
  const language = (r: AnalysedRule): Language => {
    const key = restSource(r.matcher)
    let l = languages.get(key)
    if (l === undefined) languages.set(key, (l = languageOf(key)))
    return l
  }
  const live: AnalysedRule[] = []
  for (const r of rules) {
    if (r.methods.size === 0) {
      neverMatches.push({ rule: r, reason: 'it lists no methods, so no request matches it (as in Oathkeeper)' })
      continue
    }
    const l = language(r)
    yield
    if (l.kind !== 'unknown' && l.nfa.isEmpty) {
      neverMatches.push({ rule: r, reason: `its pattern "${r.matcher.pattern}" matches no URL` })
      continue
    }
    live.push(r)
  }

  let pairsAnalysed = 0
  let truncated = false
  for (const [a, b] of candidatePairs(live)) {
    if (pairsAnalysed >= maxPairs) {
      truncated = true
      break
    }
    pairsAnalysed++
    const method = sharedMethod(a, b)
    if (method === undefined) continue
    const result = intersect(a, b, language(a), language(b))
    yield
    if (result === undefined) continue
    if (typeof result === 'string') undecided.push({ rules: [a, b], reason: result })
    else overlaps.push({ rules: [a, b], witness: { method, url: result.url } })
  }
  return { overlaps, undecided, neverMatches, pairsAnalysed, truncated }
}

/**
 * Pairs whose literal prefixes allow a common URL (one starts with the other), each once, in
 * rule order. Rules are grouped by prefix; each rule meets the rules whose prefix is a prefix of
 * its own (shorter ones, and earlier ones with the same prefix). Method sets are checked later.
 */
function* candidatePairs(rules: readonly AnalysedRule[]): Generator<[AnalysedRule, AnalysedRule]> {
  const order = new Map(rules.map((r, i) => [r, i]))
  const byPrefix = new Map<string, AnalysedRule[]>()
  for (const r of rules) {
    const list = byPrefix.get(r.matcher.prefix)
    if (list === undefined) byPrefix.set(r.matcher.prefix, [r])
    else list.push(r)
  }
  // Only the lengths some prefix has can name a shorter prefix: with 10,000 rules this saves
  // slicing every prefix at every length.
  const lengths = [...new Set(rules.map((r) => r.matcher.prefix.length))].sort((a, b) => a - b)
  for (const [prefix, group] of byPrefix) {
    for (let i = 0; i < group.length; i++) {
      for (let j = 0; j < i; j++) yield [group[j]!, group[i]!]
      for (const k of lengths) {
        if (k >= prefix.length) break
        const shorter = byPrefix.get(prefix.slice(0, k))
        if (shorter !== undefined) for (const s of shorter) yield order.get(s)! < order.get(group[i]!)! ? [s, group[i]!] : [group[i]!, s]
      }
    }
  }
}

/** A method both rules allow (GET when both do, else the first in alphabetical order). */
function sharedMethod(a: AnalysedRule, b: AnalysedRule): string | undefined {
  if (a.methods.has('GET') && b.methods.has('GET')) return 'GET'
  const shared = [...a.methods].filter((m) => b.methods.has(m)).sort()
  return shared[0]
}

/**
 * A URL both real matchers accept, undefined when the patterns are disjoint, or a string saying
 * why that cannot be decided.
 */
function intersect(a: AnalysedRule, b: AnalysedRule, la: Language, lb: Language): { url: string } | string | undefined {
  if (la.kind === 'unknown' || lb.kind === 'unknown') {
    const which = la.kind === 'unknown' ? a : b
    return `rule "${which.id}" cannot be analysed (${(la.kind === 'unknown' ? la : (lb as { reason: string })).reason})`
  }
  const exact = la.kind === 'exact' && lb.kind === 'exact'
  // Both automata read what follows a common prefix: the shorter literal prefix (candidatePairs
  // pairs only rules where one prefix starts with the other). The longer prefix's extra text
  // goes in front of its rule's automaton.
  const [pa, pb] = [automatonPrefix(a.matcher), automatonPrefix(b.matcher)]
  const common = pa.length < pb.length ? pa : pb
  const left = pa.length > common.length ? prefixed(pa.slice(common.length), la.nfa) : la.nfa
  const right = pb.length > common.length ? prefixed(pb.slice(common.length), lb.nfa) : lb.nfa
  let sets: Iterator<ReadonlyWordSet>
  try {
    sets = getIntersectionWordSets(left, right, MAX_NODES)[Symbol.iterator]()
  } catch (err) {
    return `the intersection of the two patterns is too large to analyse (${(err as Error).message})`
  }
  for (let tried = 0; tried < (exact ? 1 : CANDIDATES); tried++) {
    let next: IteratorResult<ReadonlyWordSet>
    try {
      next = sets.next()
    } catch (err) {
      return `the intersection of the two patterns is too large to analyse (${(err as Error).message})`
    }
    if (next.done === true) return undefined
    const url = common + Words.fromUTF16ToString(Words.pickMostReadableWord(next.value))
    if (a.matcher.match(url) !== null && b.matcher.match(url) !== null) return { url }
    // For two exact languages the word must match both: a mismatch is a fault of the analysis.
    if (exact) return `the analysis found "${url}", which the rules' matchers do not both accept (please report this)`
  }
  const partial = la.kind === 'superset' ? a : b
  const reason = la.kind === 'superset' ? la.reason : (lb as { reason: string }).reason
  return `rule "${partial.id}" can only be analysed in part (${reason}); no shared URL was found among the ${CANDIDATES} shortest candidates, nor proved impossible`
}

/**
 * The matcher's anchored regex source after its literal prefix, still anchored (`^…$`). The
 * matchers build `^` + escaped prefix + the rest; should a source ever not start that way, the
 * whole source is used and the prefix is taken as ''.
 */
function restSource(m: UrlMatcher): string {
  const source = m.regex.source
  const lead = `^${escapeRegExp(m.prefix)}`
  return source.startsWith(lead) ? `^${source.slice(lead.length)}` : source
}

/** The literal text restSource leaves out of the automaton: the prefix, or '' in the fallback. */
function automatonPrefix(m: UrlMatcher): string {
  return m.regex.source.startsWith(`^${escapeRegExp(m.prefix)}`) ? m.prefix : ''
}

/** `text` followed by the language of `nfa` (a new automaton; `nfa` is left as it is). */
function prefixed(text: string, nfa: NFA): NFA {
  const out = NFA.fromWords([Words.fromStringToUTF16(text)], { maxCharacter: nfa.maxCharacter })
  out.append(nfa)
  return out
}

/** The language of an anchored regex source (`^…$`, no flags, as the matchers build them). */
function languageOf(source: string): Language {
  const parser = JS.Parser.fromLiteral({ source, flags: '' })
  let reason: string
  try {
    const { expression, maxCharacter } = parser.parse({ backreferences: 'throw', assertions: 'parse', maxNodes: MAX_NODES })
    // Inline what lookarounds refa can, then drop the pattern's own ^ and $ (an automaton
    // accepts whole words anyway).
    const simple = transform(Transformers.simplify({ ignoreAmbiguity: true, ignoreOrder: true }), expression)
    const bare = transform(Transformers.patternEdgeAssertions({ remove: true }), simple)
    return { kind: 'exact', nfa: NFA.fromRegex(bare, { maxCharacter }, { assertions: 'throw' }) }
  } catch (err) {
    reason = describe(err)
  }
  try {
    // Lookarounds replaced by the empty string, backreferences by any text: every URL of the
    // rule is still accepted.
    const { expression, maxCharacter } = parser.parse({ backreferences: 'unknown', assertions: 'ignore', maxNodes: MAX_NODES })
    return { kind: 'superset', nfa: NFA.fromRegex(anyTextForUnknowns(expression, maxCharacter), { maxCharacter }, { assertions: 'throw' }), reason }
  } catch (err) {
    return { kind: 'unknown', reason: describe(err) }
  }
}

/** `expression` with each Unknown (an unresolved backreference) replaced by `[^]*`. */
function anyTextForUnknowns(expression: NoParent<Expression>, maxCharacter: number): NoParent<Expression> {
  const anyText: NoParent<Element> = {
    type: 'Quantifier',
    lazy: false,
    min: 0,
    max: Infinity,
    alternatives: [{ type: 'Concatenation', elements: [{ type: 'CharacterClass', characters: CharSet.all(maxCharacter) }] }],
  }
  const element = (e: NoParent<Element>): NoParent<Element> => {
    switch (e.type) {
      case 'Unknown':
        return anyText
      case 'Alternation':
      case 'Quantifier':
      case 'Assertion':
        return { ...e, alternatives: e.alternatives.map((c) => ({ ...c, elements: c.elements.map(element) })) }
      default:
        return e
    }
  }
  return { ...expression, alternatives: expression.alternatives.map((c) => ({ ...c, elements: c.elements.map(element) })) }
}

function describe(err: unknown): string {
  const message = (err as Error).message
  if (/assertion/i.test(message)) return 'a lookaround that is not a regular expression'
  if (/backreference/i.test(message)) return 'a backreference'
  if (/too many nodes/i.test(message)) return 'its automaton is too large'
  return message
}
