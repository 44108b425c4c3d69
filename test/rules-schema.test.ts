import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv } from 'ajv'
import { run, ROOT } from './helpers/cli.js'
import { parseRuleDocument } from '../src/rules/parse.js'
import { RULE_SCHEMA_FILE, ruleFileSchema, ruleSchema } from '../src/rules/schema.js'
import { RULE_TEST_FILE } from '../src/rules/repository/file.js'

const EXAMPLES = join(ROOT, 'rules')
// Rule files only: `*.test.yml` beside them are `rules test` cases, which the loader skips.
const exampleFiles = readdirSync(EXAMPLES).filter((f) => /\.ya?ml$/.test(f) && !RULE_TEST_FILE.test(f))

t.test('rules schema prints the committed schema/rule.schema.json', async (t) => {
  const r = await run(['rules', 'schema'])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, readFileSync(join(ROOT, RULE_SCHEMA_FILE), 'utf8'), 'regenerate with: gatehouse rules schema > schema/rule.schema.json')
  t.same(JSON.parse(r.stdout), ruleFileSchema)
})

t.test('the published schema is the one the loader validates with', async (t) => {
  // parse.ts compiles `ruleSchema`; the file's items are that very object.
  t.equal(ruleFileSchema.items, ruleSchema)
})

t.test('every field of the schema has a description', async (t) => {
  const missing: string[] = []
  const walk = (node: Record<string, unknown>, path: string): void => {
    if (typeof node.description !== 'string' || node.description.length < 10) missing.push(path)
    const props = node.properties as Record<string, Record<string, unknown>> | undefined
    for (const [k, v] of Object.entries(props ?? {})) walk(v, `${path}.${k}`)
    if (node.items !== undefined) walk(node.items as Record<string, unknown>, `${path}[]`)
  }
  walk(ruleFileSchema as unknown as Record<string, unknown>, '$')
  t.same(missing, [], 'fields without a description')
})

t.test('the example rules reference the schema, load with the comment, and validate against it', async (t) => {
  const validate = new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(join(ROOT, RULE_SCHEMA_FILE), 'utf8')) as object)
  t.ok(exampleFiles.length >= 4)
  for (const f of exampleFiles) {
    const text = readFileSync(join(EXAMPLES, f), 'utf8')
    t.equal(text.split('\n')[0], '# yaml-language-server: $schema=../schema/rule.schema.json', `${f} starts with the schema comment`)
    const specs = parseRuleDocument(text, f)
    t.ok(specs.length > 0, `${f} loads`)
    t.ok(validate(JSON.parse(JSON.stringify(specs))), `${f}: ${JSON.stringify(validate.errors)}`)
  }
})

t.test('the published schema rejects what the loader rejects', async (t) => {
  const validate = new Ajv({ allErrors: true, strict: true }).compile(ruleFileSchema)
  t.notOk(validate([{ id: 'x', match: { url: 'http://a/', method: ['GET'] } }]), 'match.method (typo)')
  t.notOk(validate([{ id: 'x', match: { url: 'http://a/' }, authenticator: [] }]), 'authenticator (typo)')
  t.notOk(validate([{ id: '', match: { url: 'http://a/' } }]), 'empty id')
  t.ok(validate([{ id: 'x', match: { url: 'http://a/', methods: ['GET'] }, authenticators: [{ handler: 'noop', config: { any: 1 } }] }]))
  t.throws(() => parseRuleDocument('- id: x\n  match: { url: "http://a/", method: [GET] }\n', 'typo.yml'), /method/)
})
