import t from 'tap'
import { ConfigError } from '../src/errors.js'
import { parseRuleDocument } from '../src/rules/parse.js'

/** The problems of the ConfigError `fn` throws; anything else is rethrown and fails the test. */
function problems(fn: () => unknown): readonly string[] {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

const full = `
- id: api-read
  version: v0.40.0
  description: read the API
  match:
    url: http://api.test/<.*>
    methods: [GET, HEAD]
  upstream: { url: 'http://up:8080', preserve_host: true, strip_path: /api }
  authenticators: [{ handler: oauth2_introspection, config: { required_scope: [read] } }]
  authorizer: { handler: allow }
  mutators: [{ handler: header, config: { headers: { X-User: '{{ print .Subject }}' } } }]
  errors: [{ handler: json }]
`

t.test('a complete Oathkeeper rule parses as written', async (t) => {
  const [rule, ...rest] = parseRuleDocument(full, 'rules/api.yml')
  t.same(rest, [])
  t.equal(rule!.id, 'api-read')
  t.same(rule!.match, { url: 'http://api.test/<.*>', methods: ['GET', 'HEAD'] })
  t.same(rule!.upstream, { url: 'http://up:8080', preserve_host: true, strip_path: '/api' })
  t.same(rule!.authenticators, [{ handler: 'oauth2_introspection', config: { required_scope: ['read'] } }])
  t.ok(Object.isFrozen(rule) && Object.isFrozen(rule!.match), 'specs are frozen')
})

t.test('JSON documents parse too', async (t) => {
  const json = JSON.stringify([{ id: 'a', match: { url: 'http://a/' } }, { id: 'b', match: { url: 'http://b/' } }])
  t.same(parseRuleDocument(json, 'rules.json').map((r) => r.id), ['a', 'b'])
})

t.test('an empty document, a comment only or null → no rules', async (t) => {
  t.same(parseRuleDocument('', 'a.yml'), [])
  t.same(parseRuleDocument('# nothing yet\n', 'a.yml'), [])
  t.same(parseRuleDocument('null', 'a.yml'), [])
  t.same(parseRuleDocument('[]', 'a.json'), [])
})

t.test('a document that is not an array → ConfigError naming the source', async (t) => {
  const [p] = problems(() => parseRuleDocument('id: a\nmatch: { url: x }\n', 'rules/one.yml'))
  t.equal(p, 'rules/one.yml: a rule document must be an array of rules or Kubernetes Rule manifests, got an object')
})

t.test('schema problems name the source, the rule id and its position', async (t) => {
  const doc = `
- id: ok
  match: { url: 'http://a/' }
- id: api-read
  match: { url: 42 }
`
  t.same(problems(() => parseRuleDocument(doc, 'rules/api.yml')), [
    'rules/api.yml: rule "api-read" (#2): match.url: must be string',
  ])
})

t.test('every problem of every rule is reported at once', async (t) => {
  const doc = `
- match: { url: 'http://a/' }
- id: ''
  match: { url: 'http://b/', method: [GET] }
- id: typo
  matches: { url: 'http://c/' }
  authenticators: [{ hander: noop }]
  upstream: { preserve_host: 'yes' }
`
  t.same([...problems(() => parseRuleDocument(doc, 'r.yml'))].sort(), [
    'r.yml: rule #1: id: is required',
    'r.yml: rule #2: id: must NOT have fewer than 1 characters',
    'r.yml: rule #2: match: unknown key "method"',
    'r.yml: rule "typo" (#3): match: is required',
    'r.yml: rule "typo" (#3): rule: unknown key "matches"',
    'r.yml: rule "typo" (#3): upstream.preserve_host: must be boolean',
    'r.yml: rule "typo" (#3): authenticators[0].handler: is required',
    'r.yml: rule "typo" (#3): authenticators[0]: unknown key "hander"',
  ].sort())
})

t.test('duplicate ids within one file → error naming both positions', async (t) => {
  const doc = `
- { id: a, match: { url: 'http://a/' } }
- { id: b, match: { url: 'http://b/' } }
- { id: a, match: { url: 'http://c/' } }
`
  t.same(problems(() => parseRuleDocument(doc, 'd.yml')), ['d.yml: rule "a" (#3): duplicate id, already used by rule #1 of this file'])
})

t.test('invalid YAML → the reason and position, without the code frame', async (t) => {
  const [p, ...rest] = problems(() => parseRuleDocument('- id: b\n  match: [this is: not valid', 'b.yml'))
  t.same(rest, [])
  t.match(p, /^b\.yml: .* at line 2, column \d+$/)
})

t.test('duplicate keys in a map → error (which one did the author mean?)', async (t) => {
  const doc = '- id: a\n  match: { url: x }\n  authorizer: { handler: allow }\n  authorizer: { handler: deny }\n'
  const [p] = problems(() => parseRuleDocument(doc, 'k.yml'))
  t.match(p, /^k\.yml: Map keys must be unique at line 4/)
})

t.test('wrong handler shapes are reported per field', async (t) => {
  const doc = `
- id: h
  match: { url: 'http://h/', methods: GET }
  authorizer: allow
  mutators: [{ handler: noop, config: [1] }]
`
  t.same(problems(() => parseRuleDocument(doc, 'h.yml')), [
    'h.yml: rule "h" (#1): match.methods: must be array',
    'h.yml: rule "h" (#1): authorizer: must be object',
    'h.yml: rule "h" (#1): mutators[0].config: must be object',
  ])
})

t.test('version: a semantic version (optionally v-prefixed) or none; anything else refuses the file', async (t) => {
  const withVersion = (v: string): string => `- id: r\n  version: '${v}'\n  match: { url: 'http://a.test/' }\n- id: other\n  match: { url: 'http://a.test/o' }\n`
  for (const v of ['v0.40.0', '0.40.0', '1.2.3-beta.1', 'v0.38.15-beta.1+oryOS.2', '']) {
    t.equal(parseRuleDocument(withVersion(v), 'r.yml').length, 2, `"${v}" accepted`)
  }
  for (const v of ['latest', '1.0', 'v1', '01.2.3', '1.2.3-01', 'vv1.0.0', ' 1.0.0']) {
    t.same(problems(() => parseRuleDocument(withVersion(v), 'r.yml')), [`r.yml: rule "r" (#1): version: "${v}" is not a semantic version (e.g. v0.40.0 or 0.40.0)`], `"${v}" refused`)
  }
})
