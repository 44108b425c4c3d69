/**
 * The rule index: finds the rules matching a request without testing every rule.
 *
 * Every pattern starts with a literal prefix (the text before its first `<…>`: scheme, host,
 * leading path), and a URL can only match a pattern if it starts with that prefix. Prefixes are
 * kept in a radix tree (a character trie with single-child chains merged into one edge); a
 * lookup walks the URL down the tree once — O(len(url)), whatever the number of rules — and
 * only the rules whose prefix is a prefix of the URL are tested. Rules with an empty prefix
 * (pattern starting with `<`) sit at the root and are candidates for every URL.
 *
 * Oathkeeper's matching is exclusive (one match → use it, several → 500), so every candidate
 * must be tested; the index is only as good as the prefixes are distinct. Rules such as
 * `https://api.example.com/svc42/<.*>` index perfectly; ten thousand rules that all start with
 * `https://<…>` would all be candidates.
 */
import type { UrlMatcher } from './matcher/index.js'

export interface IndexEntry<T> {
  readonly matcher: UrlMatcher
  /** Upper-case methods. */
  readonly methods: ReadonlySet<string>
  readonly value: T
}

export interface IndexMatch<T> {
  readonly value: T
  readonly captures: readonly string[]
}

interface RadixNode {
  /** The edge leading to this node; the root's is ''. */
  readonly label: string
  /** Keyed by the char code of the child's first label character. */
  readonly children: ReadonlyMap<number, RadixNode>
  /** Entries whose prefix ends exactly here, ascending (= the order they were given). */
  readonly bucket: readonly number[] | null
}

export class RuleIndex<T> {
  readonly #entries: readonly IndexEntry<T>[]
  readonly #root: RadixNode

  constructor(entries: readonly IndexEntry<T>[]) {
    this.#entries = entries.slice()
    const buckets = new Map<string, number[]>()
    for (let i = 0; i < entries.length; i++) {
      const prefix = entries[i]!.matcher.prefix
      const bucket = buckets.get(prefix)
      if (bucket === undefined) buckets.set(prefix, [i])
      else bucket.push(i)
    }
    // Sorted by UTF-16 code units, as `find` walks them: prefixes sharing a start are adjacent.
    const prefixes = [...buckets.keys()].sort()
    this.#root = radix(prefixes, buckets, 0, prefixes.length, 0, '')
  }

  /**
   * All entries whose method set has `method` (upper-case) and whose pattern matches `url`, in
   * the order the entries were given; stops after `limit` matches (default 2: the caller only
   * needs to know 0, 1 or "more than one").
   */
  find(method: string, url: string, limit = 2): IndexMatch<T>[] {
    const found: IndexMatch<T>[] = []
    if (limit <= 0) return found
    const buckets: (readonly number[])[] = []
    let node = this.#root
    if (node.bucket !== null) buckets.push(node.bucket)
    let pos = 0
    while (pos < url.length) {
      const child = node.children.get(url.charCodeAt(pos))
      if (child === undefined || !url.startsWith(child.label, pos)) break
      pos += child.label.length
      node = child
      if (node.bucket !== null) buckets.push(node.bucket)
    }
    if (buckets.length === 1) {
      // The common case (one prefix on the path): no merge needed.
      for (const i of buckets[0]!) if (this.#test(i, method, url, found) && found.length >= limit) break
    } else if (buckets.length > 1) {
      const heads = new Array<number>(buckets.length).fill(0)
      for (;;) {
        const i = nextInOrder(buckets, heads)
        if (i === -1) break
        if (this.#test(i, method, url, found) && found.length >= limit) break
      }
    }
    return found
  }

  /** Tests entry i; on a match appends it to `found` and returns true. */
  #test(i: number, method: string, url: string, found: IndexMatch<T>[]): boolean {
    const e = this.#entries[i]!
    // The method check is a Set lookup: cheaper than the regex, so it goes first.
    if (!e.methods.has(method)) return false
    const captures = e.matcher.match(url)
    if (captures === null) return false
    found.push({ value: e.value, captures })
    return true
  }
}

/** Pops the smallest head of the sorted buckets (a k-way merge keeps the given order). */
function nextInOrder(buckets: readonly (readonly number[])[], heads: number[]): number {
  let best = -1
  let bestAt = -1
  for (let b = 0; b < buckets.length; b++) {
    const v = buckets[b]![heads[b]!]
    if (v !== undefined && (best === -1 || v < best)) {
      best = v
      bestAt = b
    }
  }
  if (bestAt !== -1) heads[bestAt]!++
  return best
}

const NO_CHILDREN: ReadonlyMap<number, RadixNode> = new Map()

/**
 * The radix node for sorted `prefixes[lo..hi)`, which all start with the same `depth` code units
 * and reach this node by the edge `label`. Built from the sorted list directly (no per-character
 * trie first): the longest common start of a run of sorted strings is that of its first and last,
 * so each edge is found in one comparison, and a node exists only where a prefix ends or the
 * prefixes branch.
 */
function radix(prefixes: readonly string[], buckets: ReadonlyMap<string, number[]>, lo: number, hi: number, depth: number, label: string): RadixNode {
  let bucket: number[] | null = null
  // The prefix that ends here sorts first among those that share its start.
  if (lo < hi && prefixes[lo]!.length === depth) bucket = buckets.get(prefixes[lo++]!)!
  let children: Map<number, RadixNode> | undefined
  while (lo < hi) {
    const first = prefixes[lo]!
    const unit = first.charCodeAt(depth)
    let end = lo + 1
    while (end < hi && prefixes[end]!.charCodeAt(depth) === unit) end++
    const last = prefixes[end - 1]!
    let common = depth + 1
    while (common < first.length && first.charCodeAt(common) === last.charCodeAt(common)) common++
    children ??= new Map()
    children.set(unit, radix(prefixes, buckets, lo, end, common, first.slice(depth, common)))
    lo = end
  }
  // Most nodes are leaves (one per rule, when prefixes are distinct): they share one empty map.
  return { label, children: children ?? NO_CHILDREN, bucket }
}
