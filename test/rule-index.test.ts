import t from 'tap'
import { compileMatcher } from '../src/rules/matcher/index.js'
import { RuleIndex, type IndexEntry } from '../src/rules/rule-index.js'

function entry(pattern: string, methods: string[], value = pattern, strategy: 'regexp' | 'glob' = 'regexp'): IndexEntry<string> {
  return { matcher: compileMatcher(strategy, pattern), methods: new Set(methods), value }
}

/** What the index must be equivalent to: test every entry in order. */
function linear<T>(entries: readonly IndexEntry<T>[], method: string, url: string, limit: number) {
  const out: { value: T; captures: readonly string[] }[] = []
  for (const e of entries) {
    if (out.length >= limit) break
    if (!e.methods.has(method)) continue
    const captures = e.matcher.match(url)
    if (captures !== null) out.push({ value: e.value, captures })
  }
  return out
}

/** mulberry32: a small seeded PRNG so the property test is reproducible. */
function prng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

t.test('one matching rule is found with its captures', async (t) => {
  const idx = new RuleIndex([
    entry('http://api.test/users/<[0-9]+>', ['GET'], 'user'),
    entry('http://api.test/groups/<.*>', ['GET'], 'groups'),
  ])
  t.same(idx.find('GET', 'http://api.test/users/42'), [{ value: 'user', captures: ['42'] }])
  t.same(idx.find('GET', 'http://api.test/groups/a/b'), [{ value: 'groups', captures: ['a/b'] }])
  t.same(idx.find('GET', 'http://api.test/other'), [])
  t.same(idx.find('GET', 'http://other.test/users/1'), [])
  t.same(idx.find('GET', ''), [])
})

t.test('methods filter candidates', async (t) => {
  const idx = new RuleIndex([entry('http://a.test/<.*>', ['GET', 'HEAD'], 'read'), entry('http://a.test/<.*>', ['POST'], 'write')])
  t.same(idx.find('POST', 'http://a.test/x').map((m) => m.value), ['write'])
  t.same(idx.find('HEAD', 'http://a.test/x').map((m) => m.value), ['read'])
  t.same(idx.find('DELETE', 'http://a.test/x'), [])
  t.same(new RuleIndex([entry('http://a.test/<.*>', [])]).find('GET', 'http://a.test/x'), [], 'no methods matches nothing')
})

t.test('limit: stops after limit matches, in the order entries were given', async (t) => {
  const idx = new RuleIndex([
    entry('<.*>', ['GET'], 'any'),
    entry('http://a.test/x/<.*>', ['GET'], 'x'),
    entry('http://a.test/<.*>', ['GET'], 'a'),
    entry('http://<.*>', ['GET'], 'http'),
  ])
  const url = 'http://a.test/x/y'
  t.same(idx.find('GET', url).map((m) => m.value), ['any', 'x'], 'default limit is 2')
  t.same(idx.find('GET', url, 1).map((m) => m.value), ['any'])
  t.same(idx.find('GET', url, 10).map((m) => m.value), ['any', 'x', 'a', 'http'], 'given order, not prefix length')
  t.same(idx.find('GET', url, 0), [])
})

t.test('rules with an empty prefix are candidates for every URL', async (t) => {
  const idx = new RuleIndex([entry('<https?>://<[^/]+>/health', ['GET'], 'health'), entry('http://a.test/<.*>', ['GET'], 'a')])
  t.same(idx.find('GET', 'https://b.test/health'), [{ value: 'health', captures: ['https', 'b.test'] }])
  t.same(idx.find('GET', 'http://a.test/health').map((m) => m.value), ['health', 'a'])
})

t.test('prefixes that are prefixes of each other and of the URL are all tried', async (t) => {
  const idx = new RuleIndex([
    entry('http://a.test/svc4/<.*>', ['GET'], 'svc4'),
    entry('http://a.test/svc42/<.*>', ['GET'], 'svc42'),
    entry('http://a.test/svc<[0-9]+>', ['GET'], 'svcN'),
    entry('http://a.test/svc42', ['GET'], 'exact'),
  ])
  t.same(idx.find('GET', 'http://a.test/svc42/x', 10).map((m) => m.value), ['svc42'])
  t.same(idx.find('GET', 'http://a.test/svc4/x', 10).map((m) => m.value), ['svc4'])
  t.same(idx.find('GET', 'http://a.test/svc42', 10).map((m) => m.value), ['svcN', 'exact'])
  t.same(idx.find('GET', 'http://a.test/svc', 10), [])
})

t.test('prefixes that nest, share starts or hold characters outside the BMP are all found', async (t) => {
  // Sorted by UTF-16 code units, '\u{1F600}' (a surrogate pair) sorts after '\uffee'; the walk reads code units too.
  const patterns = ['http://a/', 'http://a/b/<.*>', 'http://a/bc/<.*>', 'http://\u{1F600}/<.*>', 'http://\u{1F601}/<.*>', 'http://\uffee/<.*>', 'http://a/b/<.*>', '<.*>/x']
  const entries = patterns.map((p, i) => ({ matcher: compileMatcher('regexp', p), methods: new Set(['GET']), value: i }))
  const idx = new RuleIndex(entries)
  for (const url of ['http://a/', 'http://a/b/1', 'http://a/bc/1', 'http://a/b/x', 'http://\u{1F600}/1', 'http://\u{1F601}/x', 'http://\uffee/2', 'http://b/x', 'http://a/bcd']) {
    t.same(idx.find('GET', url, 100), linear(entries, 'GET', url, 100), url)
  }
})

t.test('glob matchers are indexed the same way', async (t) => {
  const idx = new RuleIndex([entry('http://a.test/<*>/<**>', ['GET'], 'g', 'glob')])
  t.same(idx.find('GET', 'http://a.test/u/v/w'), [{ value: 'g', captures: ['u', 'v/w'] }])
})

t.test('the index finds what a linear scan finds (seeded random rule sets)', async (t) => {
  const rand = prng(0x5eed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
  const hosts = ['a.test', 'b.test', 'ab.test']
  const segs = ['x', 'xy', 'y', 'svc1', 'svc12', '']
  const groups = ['<.*>', '<[a-z]+>', '<[0-9]*>', '<x|y>', '<(s)vc1?>']
  const methods = ['GET', 'POST', 'PUT']
  const mismatches: string[] = []
  let matched = 0
  let several = 0
  for (let round = 0; round < 40; round++) {
    const entries: IndexEntry<number>[] = []
    const n = 1 + Math.floor(rand() * 60)
    for (let i = 0; i < n; i++) {
      let p = `${pick(['http', 'https', '<https?>'])}://${rand() < 0.15 ? '<[a-z.]+>' : pick(hosts)}/`
      const parts = Math.floor(rand() * 3)
      for (let k = 0; k < parts; k++) p += `${rand() < 0.5 ? pick(groups) : pick(segs)}${rand() < 0.5 ? '/' : ''}`
      const ms = methods.filter(() => rand() < 0.6)
      entries.push({ matcher: compileMatcher('regexp', p), methods: new Set(ms), value: i })
    }
    const idx = new RuleIndex(entries)
    for (let q = 0; q < 50; q++) {
      let url = `${pick(['http', 'https'])}://${pick(hosts)}/`
      const parts = Math.floor(rand() * 4)
      for (let k = 0; k < parts; k++) url += `${pick(segs)}${rand() < 0.6 ? '/' : ''}`
      const method = pick(methods)
      for (const limit of [1, 2, 100]) {
        const got = JSON.stringify(idx.find(method, url, limit))
        const want = linear(entries, method, url, limit)
        if (got !== JSON.stringify(want)) mismatches.push(`round ${round}: ${method} ${url} limit ${limit}: ${got}`)
        if (limit === 100 && want.length > 0) matched++
        if (limit === 100 && want.length > 1) several++
      }
    }
  }
  t.same(mismatches, [], 'no lookup differs from the linear scan')
  // The generator must produce real cases, not 2000 empty results.
  t.ok(matched > 300, `${matched} lookups matched something`)
  t.ok(several > 100, `${several} lookups matched several rules`)
})

t.test('10,000 rules with distinct prefixes: a lookup only tests its own rules', async (t) => {
  let tested = 0
  const entries: IndexEntry<number>[] = []
  for (let i = 0; i < 10_000; i++) {
    const inner = compileMatcher('regexp', `https://api.example.com/svc${i}/<.*>`)
    // Count how many matchers the index runs per lookup.
    const counting = { prefix: inner.prefix, pattern: inner.pattern, regex: inner.regex, match: (u: string) => (tested++, inner.match(u)) }
    entries.push({ matcher: counting, methods: new Set(['GET']), value: i })
  }
  const idx = new RuleIndex(entries)
  t.same(idx.find('GET', 'https://api.example.com/svc4711/items/1'), [{ value: 4711, captures: ['items/1'] }])
  t.equal(tested, 1, 'only the rule with the matching prefix was tested')
  tested = 0
  t.same(idx.find('GET', 'https://api.example.com/svc99999/x'), [])
  t.equal(tested, 0)
})
