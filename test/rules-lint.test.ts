import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildGatewayConfig } from '../src/pipeline/handler-settings.js'
import { compileMatcher } from '../src/rules/matcher/index.js'
import { lintRuleFiles, type LintFinding } from '../src/rules/lint.js'
import { analyseOverlaps, analyseOverlapsInSlices, type AnalysedRule } from '../src/rules/overlap.js'
import type { MatchingStrategy } from '../src/rules/types.js'
import { ROOT, run } from './helpers/cli.js'

/** A rule file's YAML: each rule `[id, url, methods, priority?]` with trivial handlers. */
function ruleFile(rules: readonly (readonly [string, string, readonly string[], number?])[]): string {
  return rules
    .map(
      ([id, url, methods, priority]) =>
        `- id: ${id}\n  match:\n    url: '${url}'\n    methods: [${methods.join(', ')}]\n` +
        (priority === undefined ? '' : `  priority: ${priority}\n`) +
        '  authenticators: [{handler: anonymous}]\n  authorizer: {handler: allow}\n  mutators: [{handler: noop}]\n',
    )
    .join('')
}

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lint-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

function config(strategy: MatchingStrategy, precedence: 'exclusive' | 'priority' = 'exclusive') {
  const on = { enabled: true }
  return buildGatewayConfig(
    {
      access_rules: { matching_strategy: strategy, precedence },
      authenticators: { anonymous: on },
      authorizers: { allow: on },
      mutators: { noop: on },
    },
    {},
  )
}

const pair = (f: LintFinding): string => f.rules.map((r) => r.id).join(' & ')

/** Asserts the witness really is matched by both rules' real matchers and methods. */
function assertWitness(t: { ok(v: unknown, m: string): unknown }, strategy: MatchingStrategy, f: LintFinding, patterns: Record<string, [string, string[]]>): void {
  for (const r of f.rules) {
    const [pattern, methods] = patterns[r.id]!
    t.ok(compileMatcher(strategy, pattern).match(f.witness!.url), `${r.id} matches ${f.witness!.url}`)
    t.ok(methods.includes(f.witness!.method), `${r.id} allows ${f.witness!.method}`)
  }
}

t.test('regexp: an alternation against a class in another file, two hosts, a method subset, rules that never match', async (t) => {
  const patterns: Record<string, [string, string[]]> = {
    'orders-alt': ['https://<(api|shop)>.example.com/orders/<(new|[0-9]+)>', ['GET', 'POST']],
    'orders-any': ['https://shop.example.com/orders/<[^/]+>', ['POST', 'DELETE']],
    'orders-get': ['https://shop.example.com/orders/<[^/]+>x', ['GET']],
    'orders-health': ['https://api.example.com/orders/health', ['GET', 'POST']],
    'admin-read': ['https://api.example.com/admin/<.*>', ['GET', 'HEAD']],
    'admin-users': ['https://api.example.com/admin/users', ['PUT', 'DELETE']],
    never: ['https://api.example.com/<[^\\s\\S]>', ['GET']],
    'no-methods': ['https://api.example.com/nothing', []],
  }
  const row = (id: string) => [id, ...patterns[id]!] as const
  const dir = dirWith({
    'a.yml': ruleFile([row('orders-alt'), row('admin-read'), row('never')]),
    'b.yml': ruleFile([row('orders-any'), row('orders-get'), row('orders-health'), row('admin-users'), row('no-methods')]),
  })
  const result = await lintRuleFiles([dir], config('regexp'))
  const overlaps = result.findings.filter((f) => f.kind === 'overlap')
  // orders-alt/orders-any share only POST, on the shop host; orders-get needs a trailing x that
  // orders-alt's (new|[0-9]+) cannot give; the health path is not in orders-alt's alternation;
  // admin-read and admin-users share no method.
  t.same(overlaps.map(pair), ['orders-alt & orders-any'])
  t.equal(overlaps[0]!.severity, 'error')
  t.equal(overlaps[0]!.witness!.method, 'POST')
  t.match(overlaps[0]!.witness!.url, /^https:\/\/shop\.example\.com\/orders\/(new|[0-9]+)$/)
  t.same(overlaps[0]!.rules.map((r) => r.source), [join(dir, 'a.yml'), join(dir, 'b.yml')])
  assertWitness(t, 'regexp', overlaps[0]!, patterns)
  const never = result.findings.filter((f) => f.kind === 'never-matches')
  t.same(never.map(pair).sort(), ['never', 'no-methods'])
  t.match(never.find((f) => pair(f) === 'no-methods')!.message, /lists no methods/)
  t.match(never.find((f) => pair(f) === 'never')!.message, /matches no URL/)
  t.equal(result.errors, 3)
})

t.test('glob: an alternation in one file against a star in another; separators keep others apart', async (t) => {
  const patterns: Record<string, [string, string[]]> = {
    shops: ['https://<{api,shop}>.example.com/<{orders,carts}>/<*>', ['GET']],
    'any-host': ['https://<*>.example.com/carts/<[0-9]*>', ['GET']],
    // `*` does not cross '.', so this host never equals api.example.com or shop.example.com.
    deep: ['https://<*>.eu.example.com/<**>', ['GET']],
  }
  const dir = dirWith({
    'a.yml': ruleFile([['shops', ...patterns.shops!]]),
    'b.yml': ruleFile([['any-host', ...patterns['any-host']!], ['deep', ...patterns.deep!]]),
  })
  const result = await lintRuleFiles([dir], config('glob'))
  const overlaps = result.findings.filter((f) => f.kind === 'overlap')
  t.same(overlaps.map(pair), ['shops & any-host'])
  t.match(overlaps[0]!.witness!.url, /^https:\/\/(api|shop)\.example\.com\/carts\/[0-9]*$/)
  assertWitness(t, 'glob', overlaps[0]!, patterns)
  // The same files under the regexp strategy read `*` and `{…}` differently: the strategy is global.
  const asRegexp = await lintRuleFiles([dir], config('regexp'))
  t.ok(asRegexp.findings.some((f) => f.kind === 'invalid' && /rule "any-host".*match\.url/.test(f.message)), 'as a regexp, <*> is invalid')
})

t.test('a duplicate id and validate problems are errors too; --format json; exit codes', async (t) => {
  const dir = dirWith({
    'a.yml': ruleFile([['one', 'https://a.example.com/<.*>', ['GET']]]),
    'b.yml': ruleFile([['one', 'https://b.example.com/<.*>', ['GET']], ['bad', 'https://a.example.com/<(>', ['GET']]]),
  })
  const r = await run(['rules', 'lint', '--format', 'json', dir])
  t.equal(r.code, 1, r.stderr)
  const body = JSON.parse(r.stdout) as { findings: LintFinding[]; errors: number }
  t.ok(body.findings.some((f) => f.kind === 'invalid' && /duplicate id/.test(f.message)), 'duplicate id')
  t.ok(body.findings.some((f) => f.kind === 'invalid' && /rule "bad"/.test(f.message)), 'invalid pattern')
  t.equal(body.errors, body.findings.filter((f) => f.severity === 'error').length)
  const hinted = await run(['rules', 'lint', 'rules/'])
  t.equal(hinted.code, 1, 'without -c the example rules lack their global handler config')
  t.match(hinted.stderr, /gatehouse rules lint -c config\/quickstart\.yml rules\//)

  const overlapping = dirWith({ 'a.yml': ruleFile([['x', 'https://a.example.com/<.*>', ['GET']], ['y', 'https://a.example.com/<[a-z]+>', ['GET']]]) })
  const text = await run(['rules', 'lint', overlapping])
  t.equal(text.code, 1)
  t.match(text.stdout, /error: rules "x" \(.*a\.yml\) and "y" \(.*a\.yml\) both match GET https:\/\/a\.example\.com\/[a-z]/)

  const cut = await run(['rules', 'lint', '--max-pairs', '0', overlapping])
  t.equal(cut.code, 0, 'no pair analysed, so no error')
  t.match(cut.stdout, /warning: overlap analysis stopped after 0 pairs of rules/)

  const ok = await run(['rules', 'lint', '-c', 'config/quickstart.yml'])
  t.equal(ok.code, 0, ok.stdout + ok.stderr)
  t.match(ok.stdout, /\d+ rule\(s\), \d+ pair\(s\) analysed: 0 error\(s\), 0 warning\(s\)/)
})

const rule = (id: string, pattern: string, methods = ['GET'], strategy: MatchingStrategy = 'regexp'): AnalysedRule => ({
  id,
  source: 'test',
  matcher: compileMatcher(strategy, pattern),
  methods: new Set(methods),
  priority: 0,
})

t.test('lookarounds refa can inline are analysed exactly', async (t) => {
  const r = analyseOverlaps([rule('not-health', 'https://a/<(?!health$).*>'), rule('health', 'https://a/health'), rule('h', 'https://a/<h.*>')])
  t.same(
    r.overlaps.map((o) => [o.rules.map((x) => x.id), o.witness.url]),
    [
      [['not-health', 'h'], 'https://a/h'],
      [['health', 'h'], 'https://a/health'],
    ],
  )
  t.same(r.undecided, [])
})

t.test('a backreference is analysed in part: disjoint when proved, else said so, never guessed', async (t) => {
  const twice = rule('twice', 'https://a/<([a-z]{1,3})-\\2>')
  // Read as [a-z]{1,3}-.* it still cannot meet digits only: proved disjoint.
  t.same(analyseOverlaps([twice, rule('digits', 'https://a/<[0-9]+>')]), { overlaps: [], undecided: [], neverMatches: [], pairsAnalysed: 1, truncated: false })
  // Against anything, the superset meets it, but no candidate satisfies the backreference.
  const r = analyseOverlaps([twice, rule('any', 'https://a/<.*>')])
  t.same(r.overlaps, [])
  t.equal(r.undecided.length, 1)
  t.match(r.undecided[0]!.reason, /rule "twice" can only be analysed in part \(a backreference\)/)
  // A backreference refa resolves itself (a bounded group) is exact: a-a is a real witness.
  const small = analyseOverlaps([rule('pair', 'https://a/<([a-z])-\\2>'), rule('any', 'https://a/<.*>')])
  t.same(small.overlaps.map((o) => o.witness.url), ['https://a/a-a'])
})

t.test('pairs are pruned by prefix: 2,000 rules on distinct paths analyse no pair', async (t) => {
  const rules = Array.from({ length: 2000 }, (_, i) => rule(`r${i}`, `https://api.example.com/svc${i}/<.*>`))
  // svc1/ and svc10/ are distinct prefixes, neither a prefix of the other.
  const r = analyseOverlaps(rules)
  t.equal(r.pairsAnalysed, 0)
  t.same(r.overlaps, [])
  const bounded = analyseOverlaps([rule('a', 'https://x/<.*>'), rule('b', 'https://x/<.*>'), rule('c', 'https://x/<.*>')], { maxPairs: 2 })
  t.equal(bounded.pairsAnalysed, 2)
  t.ok(bounded.truncated)
})

t.test("the README's lint example works as written, before and after the priority", async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Linting rules'), readme.indexOf('## Migrating from Oathkeeper and Hydra'))
  // Each yaml block holds files, each after a "# <path>" line.
  const files: Record<string, string> = {}
  for (const [, block] of section.matchAll(/```yaml\n([^]*?)```/g)) {
    for (const part of block!.split(/^# /m).filter((p) => p.trim() !== '')) {
      const nl = part.indexOf('\n')
      files[part.slice(0, nl)] = part.slice(nl + 1)
    }
  }
  t.same(Object.keys(files).sort(), ['gateway.yml', 'rules/api.yml', 'rules/health.yml'])
  const consoles = [...section.matchAll(/```console\n\$ npx gatehouse (.*)\n([^$]*?)(?:\$ echo \$\?\n(\d)\n)?```/g)]
  t.equal(consoles.length, 2)
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lint-readme-'))
  mkdirSync(join(dir, 'rules'))
  const write = (): void => {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  }
  const lint = async (args: string): Promise<{ code: number | null; stdout: string }> => {
    const r = await run(args.split(' '), { cwd: dir })
    return { code: r.code, stdout: r.stdout }
  }
  write()
  const before = await lint(consoles[0]![1]!)
  t.equal(before.stdout, consoles[0]![2])
  t.equal(before.code, Number(consoles[0]![3]))
  // What the prose says to change: the setting in the config, the field on `health`.
  files['gateway.yml'] = files['gateway.yml']!.replace('  repositories: [rules]\n', '  repositories: [rules]\n  precedence: priority\n')
  files['rules/health.yml'] = files['rules/health.yml']!.replace('  authenticators:', '  priority: 10\n  authenticators:')
  write()
  const after = await lint(consoles[1]![1]!)
  t.equal(after.stdout, consoles[1]![2])
  t.equal(after.code, 0)
})

t.test('in slices (the gateway): other work runs between slices, a newer set cancels, the result is the same', async (t) => {
  const rules = Array.from({ length: 20 }, (_, i) => rule(`r${i}`, `https://x/<[a-z]{${i + 1}}.*>`))
  let done = false
  let interleaved = false
  const analysis = analyseOverlapsInSlices(rules, { sliceMs: 0, stale: () => false }).then((r) => ((done = true), r))
  setImmediate(() => (interleaved = !done))
  const sliced = await analysis
  t.ok(interleaved, 'a callback queued after the start ran before the analysis finished')
  const whole = analyseOverlaps(rules)
  t.same(sliced!.overlaps.map((o) => o.witness), whole.overlaps.map((o) => o.witness))
  t.equal(whole.overlaps.length, 190, 'every pair overlaps')
  let asked = 0
  t.equal(await analyseOverlapsInSlices(rules, { sliceMs: 0, stale: () => ++asked > 1 }), undefined, 'stale: given up')
  t.equal(asked, 2)
})
