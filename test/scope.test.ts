import t from 'tap'
import { allScopesGranted, SCOPE_STRATEGIES, splitScope } from '../src/scope.js'

const { exact, hierarchic, wildcard, none } = SCOPE_STRATEGIES

t.test('exact: verbatim only', async (t) => {
  t.ok(exact(['a', 'b'], 'b'))
  t.notOk(exact(['a'], 'a.b'))
  t.notOk(exact(['a.*'], 'a.b'))
})

t.test('hierarchic: a scope grants its descendants', async (t) => {
  t.ok(hierarchic(['foo'], 'foo'))
  t.ok(hierarchic(['foo'], 'foo.bar'))
  t.ok(hierarchic(['foo'], 'foo.bar.baz'))
  t.notOk(hierarchic(['foo'], 'foobar'), 'a prefix that is not a parent')
  t.notOk(hierarchic(['foo.bar'], 'foo'))
})

t.test("wildcard (fosite's): * is one part; a trailing * is one or more", async (t) => {
  t.ok(wildcard(['foo.*'], 'foo.bar'))
  t.ok(wildcard(['foo.*'], 'foo.bar.baz'))
  t.notOk(wildcard(['foo.*'], 'foo'))
  t.notOk(wildcard(['foo.*'], 'foo.'), 'an empty part is not a part')
  t.ok(wildcard(['foo.*'], 'foo.bar.'), 'what a trailing * covers is not looked at (fosite)')
  t.ok(wildcard(['foo.*.baz'], 'foo.bar.baz'))
  t.notOk(wildcard(['foo.*.baz'], 'foo.bar.qux.baz'), 'an inner * is exactly one part')
  t.notOk(wildcard(['foo.*.baz'], 'foo.bar'))
  t.ok(wildcard(['foo'], 'foo'))
  t.notOk(wildcard(['foo'], 'foo.bar'), 'no hierarchy without a *')
  t.ok(wildcard(['*'], 'anything.at.all'))
  t.notOk(wildcard([], 'foo'))
})

// fosite's scope_strategy_test.go, TestWildcardScopeStrategy, case for case (the cases where
// fosite differs from a "cleaner" reading are marked).
t.test("wildcard: fosite's TestWildcardScopeStrategy cases", async (t) => {
  const cases: [string[], string, boolean][] = [
    [[], 'foo.bar.baz', false],
    [[], 'foo.bar', false],
    [['*'], '', false],
    [['*'], 'asdf', true],
    [['*'], 'asdf.asdf', true],
    [['foo'], '*', false],
    [['foo'], 'foo.*', false],
    [['foo'], 'fo*', false],
    [['foo'], 'foo', true],
    [['foo*'], 'foo', false],
    [['foo*'], 'fooa', false],
    [['foo*'], 'fo', false],
    [['foo*'], 'foo*', true],
    [['foo.*'], 'foo.bar', true],
    [['foo.*'], 'foo.baz', true],
    [['foo.*'], 'foo.bar.baz', true],
    [['foo.*'], 'foo', false],
    [['foo.*.baz'], 'foo.*.baz', true],
    [['foo.*.baz'], 'foo.bar.baz', true],
    [['foo.*.baz'], 'foo..baz', false],
    [['foo.*.baz'], 'foo.baz', false],
    [['foo.*.baz'], 'foo', false],
    [['foo.*.baz'], 'foo.bar.bar', false],
    [['foo.*.bar.*'], 'foo.baz.bar.baz', true],
    [['foo.*.bar.*'], 'foo.baz.baz.bar.baz', false],
    [['foo.*.bar.*'], 'foo.baz.bar.bar.bar', true],
    [['foo.*.bar.*'], 'foo.baz.bar', false],
    [['foo.*.bar.*'], 'foo.*.bar.*.*.*', true],
    [['foo.*.bar.*'], 'foo.1.bar.1.2.3.4.5', true],
    [['foo.*.bar'], 'foo.bar.bar', true],
    [['foo.*.bar'], 'foo.bar.bar.bar', false],
    [['foo.*.bar'], 'foo..bar', false],
    [['foo.*.bar'], 'foo.bar..bar', false],
    [['foo.*.bar.*.baz.*'], 'foo.*.*', false],
    [['foo.*.bar.*.baz.*'], 'foo.*.bar', false],
    [['foo.*.bar.*.baz.*'], 'foo.baz.*', false],
    [['foo.*.bar.*.baz.*'], 'foo.baz.bar', false],
    [['foo.*.bar.*.baz.*'], 'foo.b*.bar', false],
    [['foo.*.bar.*.baz.*'], 'foo.bar.bar.baz.baz.baz', true],
    [['foo.*.bar.*.baz.*'], 'foo.bar.bar.baz.baz.baz.baz', true],
    [['foo.*.bar.*.baz.*'], 'foo.bar.bar.baz.baz', false],
    [['foo.*.bar.*.baz.*'], 'foo.bar.baz.baz.baz.bar', false],
    [['hydra.*', 'openid', 'offline', 'hydra'], 'hydra.clients', true],
    [['hydra.*', 'openid', 'offline', 'hydra'], 'hydra.clients.get', true],
    [['hydra.*', 'openid', 'offline', 'hydra'], 'hydra', true],
    [['hydra.*', 'openid', 'offline', 'hydra'], 'offline', true],
    [['hydra.*', 'openid', 'offline', 'hydra'], 'openid', true],
    // Edge cases read off fosite's loop: a trailing * covers the rest without looking at it.
    [['api.*'], 'api.read.', true],
    [['api.*'], 'api.read..x', true],
    [['api.*'], 'api.', false],
    [['api.*'], 'api..read', false],
    [['*'], '.', false],
    [['*'], 'a.', true],
    [['*.read'], '.read', false],
    [['api.*.*'], 'api.a.b.c', true],
  ]
  for (const [granted, needle, want] of cases) t.equal(wildcard(granted, needle), want, `${JSON.stringify(granted)} ∋ ${JSON.stringify(needle)}`)
})

// fosite's TestHierarchicScopeStrategy and TestExactScopeStrategy2ScopeStrategy.
t.test("hierarchic and exact: fosite's cases", async (t) => {
  const h: [string[], string, boolean][] = [
    [[], 'foo.bar.baz', false],
    [[], 'foo', false],
    ...(['foo.bar.baz', 'baz.baz.baz', 'foo.bar', 'bar.baz', 'bar.baz.zad'].map((n) => [['foo.bar', 'bar.baz', 'baz.baz.1', 'baz.baz.2', 'baz.baz.3', 'baz.baz.baz'], n, true]) as [string[], string, boolean][]),
    ...(['foo', 'bar', 'baz'].map((n) => [['foo.bar', 'bar.baz', 'baz.baz.1', 'baz.baz.2', 'baz.baz.3', 'baz.baz.baz'], n, false]) as [string[], string, boolean][]),
    [['fosite.key.create', 'fosite.key.get', 'fosite.key.delete', 'fosite.key.update'], 'fosite.key.delete', true],
    [['hydra', 'openid', 'offline'], 'foo.bar', false],
    [['hydra', 'openid', 'offline'], 'hydra.bar', true],
    [['hydra', 'openid', 'offline'], 'openid.baz.bar', true],
    [['hydra', 'openid', 'offline'], 'offline.baz.bar.baz', true],
  ]
  for (const [granted, needle, want] of h) t.equal(hierarchic(granted, needle), want, `hierarchic ${JSON.stringify(granted)} ∋ ${needle}`)
  const scopes = ['foo.bar.baz', 'foo.bar']
  for (const [needle, want] of [['foo.bar.baz', true], ['foo.bar', true], ['foo.bar.baz.baz', false], ['foo.bar.bar', false], ['foo.bar.baz1', false], ['foo.bar1', false]] as const) {
    t.equal(exact(scopes, needle), want, `exact ${needle}`)
  }
  t.notOk(exact([], 'foo'))
})

t.test('none: no check', async (t) => {
  t.ok(none([], 'anything'))
})

t.test('allScopesGranted and splitScope', async (t) => {
  t.ok(allScopesGranted(wildcard, ['a.*', 'b'], ['a.x', 'b']))
  t.notOk(allScopesGranted(wildcard, ['a.*'], ['a.x', 'b']))
  t.ok(allScopesGranted(exact, [], []), 'nothing requested is always granted')
  t.same(splitScope(' a  b '), ['a', 'b'])
  t.same(splitScope(null), [])
  t.same(splitScope(''), [])
})
