import t from 'tap'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments, parse } from 'yaml'
import { parseRuleDocument } from '../src/rules/parse.js'
import type { RuleSpec } from '../src/rules/types.js'
import { ROOT, run } from './helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-convert-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

/**
 * The example rules in rules/, as the gateway reads them (files in name order, as a directory is
 * read; the `rules test` cases beside them, *.test.yml, are not rules).
 */
const examples: RuleSpec[] = readdirSync(join(ROOT, 'rules'))
  .filter((f) => /\.(ya?ml|json)$/.test(f) && !/\.test\.ya?ml$/.test(f))
  .sort()
  .flatMap((f) => parseRuleDocument(readFileSync(join(ROOT, 'rules', f), 'utf8'), f))

const manifests = `apiVersion: oathkeeper.ory.sh/v1alpha1
kind: Rule
metadata: { name: api, namespace: prod }
spec:
  upstream: { url: 'http://api.prod.svc:8080', preserveHost: true }
  match: { url: 'http://gw.test/api/<.*>', methods: [GET] }
  authenticators: [{ handler: anonymous }]
  authorizer: { handler: allow }
---
apiVersion: oathkeeper.ory.sh/v1alpha1
kind: Rule
metadata: { name: team, namespace: shop }
spec:
  match: { url: 'http://gw.test/team', methods: [GET] }
  configMapName: shop-rules
`
writeFileSync(join(dir, 'k8s.yaml'), manifests)

t.test('json (the default): the access-rules.json array Maester writes', async (t) => {
  const r = await run(['rules', 'convert', join(dir, 'k8s.yaml')])
  t.equal(r.code, 0, r.stderr)
  const rules = JSON.parse(r.stdout) as RuleSpec[]
  t.same(rules[0], {
    upstream: { url: 'http://api.prod.svc:8080', preserve_host: true },
    id: 'api.prod',
    match: { url: 'http://gw.test/api/<.*>', methods: ['GET'] },
    authenticators: [{ handler: 'anonymous' }],
    authorizer: { handler: 'allow' },
    mutators: [{ handler: 'noop' }],
  })
  t.same(rules[1]!.authenticators, [{ handler: 'unauthorized' }], "Maester's defaults are filled in")
  t.match(r.stdout, /^\[\n {2}\{\n {4}"upstream"/, 'two-space indented, upstream first, as Maester')
})

t.test('Oathkeeper files pass through unchanged, directories included', async (t) => {
  const r = await run(['rules', 'convert', 'rules'])
  t.equal(r.code, 0, r.stderr)
  t.same(JSON.parse(r.stdout), examples)
})

t.test('configmap: the ConfigMaps Maester maintains, ready for kubectl apply', async (t) => {
  const r = await run(['rules', 'convert', '--format', 'configmap', '--namespace', 'gatehouse', 'rules', join(dir, 'k8s.yaml')])
  t.equal(r.code, 0, r.stderr)
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { metadata: unknown; data: Record<string, string> })
  t.same(docs.map((d) => d.metadata), [{ name: 'oathkeeper-rules', namespace: 'gatehouse' }, { name: 'shop-rules', namespace: 'shop' }])
  const main = JSON.parse(docs[0]!.data['access-rules.json']!) as RuleSpec[]
  t.same(main.map((r) => r.id), [...examples.map((e) => e.id), 'api.prod'])
  t.same((JSON.parse(docs[1]!.data['access-rules.json']!) as RuleSpec[]).map((r) => r.id), ['team.shop'], 'configMapName → its own ConfigMap in the rule\'s namespace')

  const named = await run(['rules', 'convert', '--format', 'configmap', '--name', 'edge-rules', '--key', 'rules.json', 'rules/public.yml'])
  t.equal(named.code, 0, named.stderr)
  const cm = parse(named.stdout) as { metadata: unknown; data: Record<string, string> }
  t.same(cm.metadata, { name: 'edge-rules' }, 'no namespace unless asked: kubectl apply -n decides')
  t.same(Object.keys(cm.data), ['rules.json'])
})

t.test('manifests: Oathkeeper rules → Rule manifests → back, same rules under Maester ids', async (t) => {
  const r = await run(['rules', 'convert', '--format', 'manifests', '--namespace', 'edge', 'rules'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /note: description and version have no place in a Rule manifest/)
  const file = join(dir, 'from-files.yaml')
  writeFileSync(file, r.stdout)
  const back = parseRuleDocument(r.stdout, file)
  t.same(back.map((b) => b.id), examples.map((e) => `${e.id}.edge`))
  back.forEach((b, i) => {
    const e = examples[i]!
    t.same([b.match, b.upstream?.url, b.upstream?.strip_path, b.authenticators, b.authorizer, b.mutators, b.errors],
      [e.match, e.upstream?.url, e.upstream?.strip_path, e.authenticators, e.authorizer, e.mutators, e.errors], `${e.id}: same behaviour`)
  })
  // Manifests in, manifests out: names and namespaces are kept.
  const again = await run(['rules', 'convert', '--format', 'manifests', file])
  t.equal(again.code, 0, again.stderr)
  t.same(parseRuleDocument(again.stdout, 'again.yaml'), back)
})

t.test('a rule with a priority cannot become a manifest: refused, not silently dropped', async (t) => {
  const f = join(dir, 'priority.yml')
  writeFileSync(f, "- { id: health, priority: 10, match: { url: 'http://gw.test/health', methods: [GET] } }\n")
  const r = await run(['rules', 'convert', '--format', 'manifests', f])
  t.equal(r.code, 1)
  t.match(r.stderr, /rule "health" \(#1\): priority has no place in a Rule manifest/)
})

t.test('ids that are no Kubernetes names are renamed, with a note', async (t) => {
  const f = join(dir, 'odd.yml')
  writeFileSync(f, "- { id: 'Users:Read_All', match: { url: 'http://gw.test/u' } }\n")
  const r = await run(['rules', 'convert', '--format', 'manifests', f])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /rule "Users:Read_All" \(#1\): named "users-read-all"/)
  t.match(r.stdout, /name: users-read-all/)
})

t.test('every problem listed, nothing written, exit 1', async (t) => {
  const bad = join(dir, 'bad')
  rmSync(bad, { recursive: true, force: true })
  writeFileSync(join(dir, 'dup.yml'), "- { id: api.prod, match: { url: 'http://x/' } }\n")
  writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: oathkeeper.ory.sh/v1alpha1\nkind: Rule\nmetadata: { name: api }\nspec: { match: { url: 1, methods: [GET] } }\n')
  const r = await run(['rules', 'convert', '--format', 'configmap', '--key', 'no/slash', join(dir, 'k8s.yaml'), join(dir, 'dup.yml'), join(dir, 'broken.yaml'), bad])
  t.equal(r.code, 1)
  t.equal(r.stdout, '')
  t.match(r.stderr, /4 problem\(s\)/)
  t.match(r.stderr, /--key: "no\/slash" is not a ConfigMap key/)
  t.match(r.stderr, /dup\.yml: rule "api\.prod" \(#1\): duplicate id, already defined in .*k8s\.yaml/)
  t.match(r.stderr, /broken\.yaml: Rule "api\.default": spec\.match\.url: must be string/)
  t.match(r.stderr, /bad: no such file or directory/)
})
