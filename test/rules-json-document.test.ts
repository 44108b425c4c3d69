import { deepStrictEqual } from 'node:assert'
import t from 'tap'
import fc from 'fast-check'
import { parseAllDocuments } from 'yaml'
import { ConfigError } from '../src/errors.js'
import { parseJsonDocument } from '../src/rules/json-document.js'
import { parseRuleDocument } from '../src/rules/parse.js'
import { usePropertySeed } from './helpers/property-seed.js'

/** What the YAML path makes of a text (the values of its documents). */
function viaYaml(text: string): unknown[] {
  return parseAllDocuments(text, { uniqueKeys: true }).map((d) => d.toJS({ maxAliasCount: 100 }) as unknown)
}

t.test('a JSON rule document is read by JSON.parse', async (t) => {
  const doc = [{ id: 'a', match: { url: 'http://a/<.*>', methods: ['GET'] }, note: 'a: "quoted" \\ colon' }]
  t.same(parseJsonDocument(JSON.stringify(doc)), { value: doc })
  t.same(parseJsonDocument(`\n\t ${JSON.stringify(doc, null, 2)}\r\n`), { value: doc }, 'whitespace around it and inside it')
  t.same(parseJsonDocument('{"kind":"Rule","spec":{"a":{"b":[{"c":1},{"c":2}]}}}'), { value: { kind: 'Rule', spec: { a: { b: [{ c: 1 }, { c: 2 }] } } } })
})

t.test('anything else is left to the YAML path', async (t) => {
  t.equal(parseJsonDocument('- id: a\n  match: { url: x }\n'), undefined, 'YAML')
  t.equal(parseJsonDocument('# rules\n[]'), undefined, 'a comment first')
  t.equal(parseJsonDocument('[{"id": "a",}]'), undefined, 'JSON with a trailing comma (YAML flow syntax)')
  t.equal(parseJsonDocument('"just a string"'), undefined, 'a scalar')
  t.equal(parseJsonDocument(''), undefined)
  t.equal(parseJsonDocument('[1]\n---\n[2]'), undefined, 'several documents')
})

t.test('a repeated key is left to the YAML path, which refuses it', async (t) => {
  const doc = '[{"id":"a","match":{"url":"http://a/"},"authorizer":{"handler":"allow"},"authorizer":{"handler":"deny"}}]'
  t.equal(parseJsonDocument(doc), undefined)
  t.equal(parseJsonDocument('[{"a":{"x:y":1,"x:y":2}}]'), undefined, 'a repeated key with a colon in it')
  t.equal(parseJsonDocument('{"__proto__":1,"__proto__":2}'), undefined)
  try {
    parseRuleDocument(doc, 'd.json')
    t.fail('expected a ConfigError')
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    t.match(err.problems[0], /^d\.json: Map keys must be unique/)
  }
})

t.test('__proto__ is an own key, as the YAML path makes it', async (t) => {
  const r = parseJsonDocument('[{"__proto__":{"polluted":true},"id":"a"}]')
  const rule = (r!.value as Record<string, unknown>[])[0]!
  t.ok(Object.hasOwn(rule, '__proto__'))
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.same(r!.value, viaYaml('[{"__proto__":{"polluted":true},"id":"a"}]')[0])
})

t.test('property: for any JSON text both paths give the same values', async (t) => {
  const seed = usePropertySeed(t)
  const collection = fc.oneof(fc.array(fc.jsonValue()), fc.dictionary(fc.string(), fc.jsonValue()))
  fc.assert(
    fc.property(collection, fc.boolean(), (value, pretty) => {
      const text = JSON.stringify(value, null, pretty ? 2 : undefined)
      const fast = parseJsonDocument(text)
      if (fast === undefined) throw new Error(`not taken for ${text}`)
      deepStrictEqual(fast.value, viaYaml(text)[0])
    }),
    { seed, numRuns: 300 },
  )
  t.pass('300 documents read alike')
})

t.test('property: a key written twice anywhere is noticed', async (t) => {
  const seed = usePropertySeed(t)
  fc.assert(
    fc.property(fc.array(fc.jsonValue(), { maxLength: 4 }), fc.string(), fc.jsonValue(), fc.jsonValue(), (around, key, first, second) => {
      const member = `${JSON.stringify(key)}:${JSON.stringify(first)}`
      const twice = `{${member},"other":1,${JSON.stringify(key)}:${JSON.stringify(second)}}`
      const text = `[${[...around.map((v) => JSON.stringify(v)), twice].join(',')}]`
      if (parseJsonDocument(text) !== undefined) throw new Error(`taken for ${text}`)
    }),
    { seed, numRuns: 300 },
  )
  t.pass('300 documents with a repeated key left to YAML')
})
