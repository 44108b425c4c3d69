import t from 'tap'
import fc from 'fast-check'
import { compileMatcher, type UrlMatcher } from '../src/rules/matcher/index.js'
import { analyseOverlaps } from '../src/rules/overlap.js'
import type { MatchingStrategy } from '../src/rules/types.js'
import { usePropertySeed } from './helpers/property-seed.js'

// Property tests for the overlap analysis of `rules lint`: for any two patterns, a reported
// witness is matched by both real matchers, and when the analysis calls two patterns disjoint,
// no short URL (every string up to 4 characters over an alphabet their parts use, after each
// literal prefix the generator writes) is matched by both.

usePropertySeed(t)

const PREFIXES = ['https://', 'https://h/', 'https://h/a', 'https://h/ab/']
const SUFFIXES = ['', '/x', 'b']
const REGEX_PARTS = ['a', 'b', '[a-c]', '[^/]', '.', '/', '\\d', '(a|bc)', '[^a]', '\\w', '\\.', '-', '(?:x|y)', '(?!a)']
const QUANTIFIERS = ['', '', '*', '+', '?', '{1,2}']
const GLOB_PARTS = ['a', 'b', '*', '**', '?', '[a-c]', '[!a]', '{a,bc}', '.', '/', '-']
const ALPHABET = ['a', 'b', 'c', 'x', 'y', '/', '.', '-', '1', 'h']

/** Every string of up to 4 characters of ALPHABET. */
const TAILS = ((): string[] => {
  const out = ['']
  for (let len = 1; len <= 4; len++) for (const t of out.filter((s) => s.length === len - 1)) for (const c of ALPHABET) out.push(t + c)
  return out
})()

const pattern = (strategy: MatchingStrategy): fc.Arbitrary<string> => {
  const part = strategy === 'regexp' ? fc.tuple(fc.constantFrom(...REGEX_PARTS), fc.constantFrom(...QUANTIFIERS)).map(([a, q]) => (a.startsWith('(?!') ? a : a + q)) : fc.constantFrom(...GLOB_PARTS)
  return fc
    .tuple(fc.constantFrom(...PREFIXES), fc.array(part, { minLength: 1, maxLength: 3 }), fc.constantFrom(...SUFFIXES))
    .map(([p, parts, s]) => `${p}<${parts.join('')}>${s}`)
}

function compiled(strategy: MatchingStrategy, p: string): UrlMatcher | undefined {
  try {
    return compileMatcher(strategy, p)
  } catch {
    return undefined // refused at load time: nothing to analyse
  }
}

for (const strategy of ['regexp', 'glob'] as const) {
  t.test(`${strategy}: witnesses match both rules; disjoint means no short URL matches both`, async (t) => {
    let overlaps = 0
    let disjoint = 0
    fc.assert(
      fc.property(pattern(strategy), pattern(strategy), (pa, pb) => {
        const a = compiled(strategy, pa)
        const b = compiled(strategy, pb)
        if (a === undefined || b === undefined) return
        const rule = (id: string, matcher: UrlMatcher) => ({ id, source: 'p', matcher, methods: new Set(['GET']), priority: 0 })
        const r = analyseOverlaps([rule('a', a), rule('b', b)])
        if (r.overlaps.length > 0) {
          overlaps++
          const url = r.overlaps[0]!.witness.url
          if (a.match(url) === null || b.match(url) === null) throw new Error(`witness ${url} does not match both`)
          return
        }
        if (r.undecided.length > 0) return
        disjoint++
        for (const base of PREFIXES) {
          for (const tail of TAILS) {
            const url = base + tail
            if (a.match(url) !== null && b.match(url) !== null) throw new Error(`called disjoint, but both match ${url}`)
          }
        }
      }),
      { numRuns: 300 },
    )
    // The generator must give both outcomes, not only one.
    t.ok(overlaps > 10, `${overlaps} overlapping pairs`)
    t.ok(disjoint > 10, `${disjoint} disjoint pairs`)
  })
}
