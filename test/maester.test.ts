import t from 'tap'
import { ConfigError } from '../src/errors.js'
import { parseRuleDocument, readRuleDocument } from '../src/rules/parse.js'

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

const api = `
apiVersion: oathkeeper.ory.sh/v1alpha1
kind: Rule
metadata:
  name: api
  namespace: prod
spec:
  upstream:
    url: http://api.prod.svc:8080
    stripPath: /api
    preserveHost: true
  match:
    url: http://gw.test/api/<.*>
    methods: [GET, POST]
  authenticators:
    - handler: anonymous
      config: { subject: guest }
  authorizer:
    handler: allow
  mutators:
    - handler: header
      config: { headers: { X-User: '{{ print .Subject }}' } }
  errors:
    - handler: json
`

t.test('a Rule manifest becomes the rule Maester writes, in its key order', async (t) => {
  const [rule, ...rest] = parseRuleDocument(api, 'rules/k8s.yml')
  t.same(rest, [])
  // Exactly the JSON Maester writes to access-rules.json for this manifest (Go's MarshalIndent, 2 spaces).
  t.equal(
    JSON.stringify(rule, null, 2),
    `{
  "upstream": {
    "url": "http://api.prod.svc:8080",
    "strip_path": "/api",
    "preserve_host": true
  },
  "id": "api.prod",
  "match": {
    "url": "http://gw.test/api/<.*>",
    "methods": [
      "GET",
      "POST"
    ]
  },
  "authenticators": [
    {
      "handler": "anonymous",
      "config": {
        "subject": "guest"
      }
    }
  ],
  "authorizer": {
    "handler": "allow"
  },
  "mutators": [
    {
      "handler": "header",
      "config": {
        "headers": {
          "X-User": "{{ print .Subject }}"
        }
      }
    }
  ],
  "errors": [
    {
      "handler": "json"
    }
  ]
}`,
  )
  t.ok(Object.isFrozen(rule) && Object.isFrozen(rule!.upstream), 'specs are frozen')
})

t.test('missing handlers are closed by default: unauthorized, deny, noop; no upstream → empty url', async (t) => {
  const [rule] = parseRuleDocument(
    `apiVersion: oathkeeper.ory.sh/v1alpha1
kind: Rule
metadata: { name: bare }
spec:
  match: { url: 'http://gw.test/bare', methods: [GET] }
`,
    'bare.yaml',
  )
  t.same(rule, {
    upstream: { url: '', preserve_host: false },
    id: 'bare.default',
    match: { url: 'http://gw.test/bare', methods: ['GET'] },
    authenticators: [{ handler: 'unauthorized' }],
    authorizer: { handler: 'deny' },
    mutators: [{ handler: 'noop' }],
  })
  t.notOk('errors' in rule!, 'errors has no default (the global error handlers apply)')
})

t.test('several YAML documents, empty ones and comments included', async (t) => {
  const doc = `# rules of the shop
${api}
---
# nothing here
---
apiVersion: oathkeeper.ory.sh/v1alpha1
kind: Rule
metadata: { name: web, namespace: shop }
spec:
  match: { url: 'http://gw.test/<.*>', methods: [GET] }
---
`
  const rules = readRuleDocument(doc, 'k8s.yml')
  t.same(rules.map((r) => r.spec.id), ['api.prod', 'web.shop'])
  t.same(rules.map((r) => r.label), ['Rule "api.prod"', 'Rule "web.shop"'])
  t.same(rules[1]!.manifest, { namespace: 'shop' })
})

t.test('kubectl get -o yaml output: a List with server fields and status', async (t) => {
  const doc = `
apiVersion: v1
kind: List
metadata: { resourceVersion: "" }
items:
  - apiVersion: oathkeeper.ory.sh/v1alpha1
    kind: Rule
    metadata:
      name: a
      namespace: team
      uid: 0b7f3c52-6f0e-4c3c-9a53-1d8a0e4f1c11
      resourceVersion: "4711"
      creationTimestamp: "2024-05-01T10:00:00Z"
      labels: { app: a }
      annotations: { kubectl.kubernetes.io/last-applied-configuration: "{}" }
    spec:
      match: { url: 'http://gw.test/a', methods: [GET] }
      configMapName: team-rules
    status:
      validation: { valid: true }
  - apiVersion: oathkeeper.ory.sh/v1alpha1
    kind: Rule
    metadata: { name: b, namespace: team }
    spec:
      match: { url: 'http://gw.test/b', methods: [GET] }
`
  const rules = readRuleDocument(doc, 'list.yml')
  t.same(rules.map((r) => r.spec.id), ['a.team', 'b.team'])
  t.same(rules[0]!.manifest, { namespace: 'team', configMapName: 'team-rules' }, 'configMapName is kept for rules convert')
  t.equal(rules[0]!.spec.configMapName, 'team-rules', "and written into the rule, as in Maester's JSON")
})

t.test("Maester's JSON for a Rule with configMapName loads: the key is accepted and ignored", async (t) => {
  const json = JSON.stringify([{ upstream: { url: '', preserve_host: false }, id: 'a.team', match: { url: 'http://gw.test/a', methods: ['GET'] }, configMapName: 'team-rules' }])
  t.same(parseRuleDocument(json, 'access-rules.json').map((r) => r.id), ['a.team'])
})

t.test("a RuleList's items may leave apiVersion and kind out (the API server's own JSON)", async (t) => {
  const json = JSON.stringify({
    apiVersion: 'oathkeeper.ory.sh/v1alpha1',
    kind: 'RuleList',
    items: [{ metadata: { name: 'x', namespace: 'n' }, spec: { match: { url: 'http://gw.test/x', methods: ['GET'] } } }],
  })
  t.same(parseRuleDocument(json, 'rules.json').map((r) => r.id), ['x.n'])
})

t.test('Oathkeeper arrays and manifests may share a file', async (t) => {
  const doc = `- { id: plain, match: { url: 'http://gw.test/plain' } }\n---\n${api}`
  t.same(parseRuleDocument(doc, 'mixed.yml').map((r) => r.id), ['plain', 'api.prod'])
})

t.test('problems name the file and the manifest, every one at once', async (t) => {
  const doc = `
apiVersion: oathkeeper.ory.sh/v1alpha1
kind: Rule
metadata: { name: api, namespace: prod }
spec:
  match: { url: 42 }
  upstream: { url: 'http://up', stripPaths: /x }
  authorizer: { handler: allow, confg: {} }
---
apiVersion: oathkeeper.ory.sh/v1alpha1
kind: Rule
metadata: { namespace: prod }
spec:
  match: { url: 'http://gw.test/', methods: [GET] }
---
apiVersion: oathkeeper.ory.sh/v1
kind: Rule
metadata: { name: old }
spec: {}
---
apiVersion: v1
kind: Service
metadata: { name: api }
---
apiVersion: oathkeeper.ory.sh/v1alpha1
kind: Rule
metadata: { name: Bad_Name, namespace: prod.eu }
spec:
  match: { url: 'http://gw.test/', methods: [GET] }
  mutator: { handler: noop }
`
  t.same([...problems(() => parseRuleDocument(doc, 'rules/k8s.yml'))].sort(), [
    'rules/k8s.yml: Rule "Bad_Name.prod.eu": metadata.name: must be a lower-case DNS name (a-z, 0-9, "-" and ".", starting and ending with a letter or digit)',
    'rules/k8s.yml: Rule "Bad_Name.prod.eu": metadata.namespace: must be a lower-case DNS name (a-z, 0-9 and "-", starting and ending with a letter or digit)',
    'rules/k8s.yml: Rule "Bad_Name.prod.eu": spec: unknown key "mutator"',
    'rules/k8s.yml: Rule "api.prod": spec.authorizer: unknown key "confg"',
    'rules/k8s.yml: Rule "api.prod": spec.match.methods: is required',
    'rules/k8s.yml: Rule "api.prod": spec.match.url: must be string',
    'rules/k8s.yml: Rule "api.prod": spec.upstream: unknown key "stripPaths"',
    'rules/k8s.yml: Rule "old.default": apiVersion: must be "oathkeeper.ory.sh/v1alpha1", got "oathkeeper.ory.sh/v1"',
    'rules/k8s.yml: Rule #2: metadata.name: is required',
    'rules/k8s.yml: document #4: kind "Service" (v1) is not supported in a rule document: it may hold Oathkeeper rules (an array) or Rule manifests (apiVersion: oathkeeper.ory.sh/v1alpha1, kind: Rule), also in a List',
  ].sort())
})

t.test('two manifests with the same name and namespace → duplicate id', async (t) => {
  const rule = (ns: string): string => `apiVersion: oathkeeper.ory.sh/v1alpha1
kind: Rule
metadata: { name: api${ns === '' ? '' : `, namespace: ${ns}`} }
spec: { match: { url: 'http://gw.test/', methods: [GET] } }
`
  // No namespace means "default", so the first and the third are the same object.
  const doc = [rule(''), rule('prod'), rule('default')].join('---\n')
  t.same(problems(() => parseRuleDocument(doc, 'd.yml')), ['d.yml: Rule "api.default": duplicate id, already used by Rule #1 of this file'])
})

t.test('a manifest without kind, a List without items, a list item that is no object', async (t) => {
  t.same(problems(() => parseRuleDocument('apiVersion: oathkeeper.ory.sh/v1alpha1\nmetadata: { name: a }\n', 'a.yml')), [
    'a.yml: kind: is required (a Kubernetes object says what it is: kind: Rule)',
  ])
  t.same(problems(() => parseRuleDocument('apiVersion: v1\nkind: List\n', 'b.yml')), ['b.yml: List: items: must be an array of Rule manifests'])
  t.same(problems(() => parseRuleDocument('apiVersion: v1\nkind: List\nitems: [hello]\n', 'c.yml')), ['c.yml: Rule #1: must be an object (a Rule manifest)'])
})
