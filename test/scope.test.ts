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
  t.ok(wildcard(['foo.*.baz'], 'foo.bar.baz'))
  t.notOk(wildcard(['foo.*.baz'], 'foo.bar.qux.baz'), 'an inner * is exactly one part')
  t.notOk(wildcard(['foo.*.baz'], 'foo.bar'))
  t.ok(wildcard(['foo'], 'foo'))
  t.notOk(wildcard(['foo'], 'foo.bar'), 'no hierarchy without a *')
  t.ok(wildcard(['*'], 'anything.at.all'))
  t.notOk(wildcard([], 'foo'))
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
