import t, { type Test } from 'tap'
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { ConfigError } from '../src/errors.js'
import { RuleLoader, type LoadedRules } from '../src/rules/loader.js'
import type { RuleSpec } from '../src/rules/types.js'
import { until } from './helpers/wait.js'

interface Compiled {
  id: string
  url: string
}

/** A trivial compiler: keeps id and url; a url containing BROKEN does not compile. */
const compile = (spec: RuleSpec): Compiled => {
  if (spec.match.url.includes('BROKEN')) throw new Error(`url "${spec.match.url}" is BROKEN`)
  return { id: spec.id, url: spec.match.url }
}

/** A rule document with one rule per id; `url` defaults to http://x/<id>. */
const doc = (...rules: (string | [string, string])[]): string =>
  rules
    .map((r) => (typeof r === 'string' ? [r, `http://x/${r}`] : r))
    .map(([id, url]) => `- id: ${id}\n  match: { url: '${url}' }\n`)
    .join('')

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-loader-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function startLoader(t: Test, repositories: string[], extra: { cwd?: string; watch?: boolean } = {}) {
  const sets: LoadedRules<Compiled>[] = []
  const logs: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>)
      cb()
    },
  })
  const loader = new RuleLoader<Compiled>({
    repositories,
    pollIntervalMs: 0,
    compile,
    onUpdate: (set) => sets.push(set),
    logger: pino({ level: 'debug' }, stream),
    ...extra,
  })
  t.teardown(() => loader.close())
  await loader.start()
  const latest = (): LoadedRules<Compiled> => sets[sets.length - 1]!
  const ids = (): string[] => latest().rules.map((r) => r.id)
  const urlOf = (id: string): string | undefined => latest().rules.find((r) => r.id === id)?.url
  const statusOf = (suffix: string) => loader.status().find((s) => s.source.endsWith(suffix))
  return { loader, sets, logs, latest, ids, urlOf, statusOf }
}

t.test('a directory loads recursively in path order; dot entries and other files are skipped', async (t) => {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'sub'))
  mkdirSync(join(dir, '.git'))
  writeFileSync(join(dir, 'b.yml'), doc('b'))
  writeFileSync(join(dir, 'a.json'), JSON.stringify([{ id: 'a', match: { url: 'http://x/a' } }]))
  writeFileSync(join(dir, 'sub', 'c.yaml'), doc('c1', 'c2'))
  writeFileSync(join(dir, '.b.yml.swp'), doc('swap'))
  writeFileSync(join(dir, '.git', 'x.yml'), doc('git'))
  writeFileSync(join(dir, 'notes.txt'), doc('txt'))
  const l = await startLoader(t, [dir], { watch: false })
  t.same(l.sets.map((s) => s.version), [1], 'published once')
  t.same(l.ids(), ['a', 'b', 'c1', 'c2'])
  t.same(
    l.loader.status().map((s) => [s.source, s.repository, s.error, s.rules]),
    [
      [join(dir, 'a.json'), dir, null, 1],
      [join(dir, 'b.yml'), dir, null, 1],
      [join(dir, 'sub', 'c.yaml'), dir, null, 2],
    ],
  )
  t.ok(l.loader.status().every((s) => s.loadedAt !== null && !Number.isNaN(Date.parse(s.loadedAt))), 'loadedAt is an ISO time')
})

t.test('file:// URLs, plain relative paths and inline:// blobs', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'one.yml'), doc('one'))
  mkdirSync(join(dir, 'rules'))
  writeFileSync(join(dir, 'rules', 'two.yml'), doc('two'))
  const inline = `inline://${Buffer.from(doc('three')).toString('base64')}`
  const l = await startLoader(t, [`file://${join(dir, 'one.yml')}`, 'rules', inline], { cwd: dir, watch: false })
  t.same(l.ids(), ['one', 'two', 'three'], 'repository order, then path order')
  t.same(
    l.loader.status().map((s) => s.source),
    [join(dir, 'one.yml'), join('rules', 'two.yml'), 'access_rules.repositories[2] (inline)'],
    'relative paths are shown as configured',
  )
})

t.test('an unsupported repository scheme → ConfigError before anything loads', async (t) => {
  const make = () =>
    new RuleLoader<Compiled>({ repositories: ['s3://bucket/rules.json'], pollIntervalMs: 0, compile, onUpdate: () => {}, logger: pino({ level: 'silent' }) })
  t.throws(make, ConfigError)
  t.throws(make, /repositories\[0\]: unsupported repository scheme "s3:\/\/"/)
})

t.test('a missing path is a reported source error, not fatal', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'ok.yml'), doc('ok'))
  const l = await startLoader(t, [join(dir, 'nope.yml'), join(dir, 'ok.yml')], { watch: false })
  t.same(l.ids(), ['ok'])
  t.match(l.statusOf('nope.yml'), { error: /nope\.yml: no such file or directory/, loadedAt: null, rules: 0 })
})

t.test('add, change, break, fix and delete files → sets and status follow', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'a.yml'), doc('a'))
  const l = await startLoader(t, [dir])
  t.same(l.ids(), ['a'])
  const b = join(dir, 'b.yml')

  writeFileSync(b, doc('b'))
  await until(() => l.ids().includes('b'), 'added file loaded')
  t.same(l.ids(), ['a', 'b'])

  writeFileSync(b, doc(['b', 'http://x/b2']))
  await until(() => l.urlOf('b') === 'http://x/b2', 'changed file loaded')

  const version = l.latest().version
  writeFileSync(b, '- id: b\n  match: [this is: not valid')
  await until(() => l.statusOf('b.yml')?.error != null, 'broken YAML reported')
  t.match(l.statusOf('b.yml')!.error, /b\.yml: .*line 2/, 'the error names the file and the reason')
  t.equal(l.urlOf('b'), 'http://x/b2', 'the broken file keeps its last good rules')
  t.equal(l.statusOf('b.yml')!.rules, 1)
  t.ok(l.logs.some((e) => e.level === 50 && e.source === b && String(e.error).includes('line 2')), 'logged at error level')

  writeFileSync(b, doc(['b', 'http://x/BROKEN']))
  await until(() => (l.statusOf('b.yml')?.error ?? '').includes('is BROKEN'), 'compile error reported')
  t.equal(l.statusOf('b.yml')!.error, `${b}: rule "b" (#1): url "http://x/BROKEN" is BROKEN`)
  t.equal(l.urlOf('b'), 'http://x/b2', 'still the last good rules')
  await l.loader.settled()
  t.equal(l.latest().version, version, 'broken changes publish nothing')

  writeFileSync(b, doc(['b', 'http://x/b3'], 'b4'))
  await until(() => l.urlOf('b') === 'http://x/b3', 'fixed file loaded')
  t.equal(l.statusOf('b.yml')!.error, null, 'error cleared')
  t.same(l.ids(), ['a', 'b', 'b4'])

  rmSync(b)
  await until(() => !l.ids().includes('b'), 'deleted file dropped')
  t.same(l.ids(), ['a'])
  t.equal(l.statusOf('b.yml'), undefined, 'a removed file is not an error')
  t.same(
    l.sets.map((s) => s.version),
    l.sets.map((_, i) => i + 1),
    'versions increase by one per published set',
  )
})

t.test('duplicate id across files → the later-changed file is broken, the first keeps the id', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'z.yml'), doc('x', 'z'))
  const l = await startLoader(t, [dir])
  writeFileSync(join(dir, 'a.yml'), doc(['x', 'http://x/from-a'], 'y'))
  await until(() => l.statusOf('a.yml')?.error != null, 'conflict reported')
  t.equal(l.statusOf('a.yml')!.error, `${join(dir, 'a.yml')}: rule "x": id is already used by ${join(dir, 'z.yml')}`)
  t.same(l.ids(), ['x', 'z'], 'the newcomer contributes nothing, not even its other rules')
  t.equal(l.urlOf('x'), 'http://x/x')

  // Once z.yml gives the id up, a.yml is taken in without being touched.
  writeFileSync(join(dir, 'z.yml'), doc('z'))
  await until(() => l.urlOf('x') === 'http://x/from-a', 'held-back file loaded once its id is free')
  t.same(l.ids(), ['x', 'y', 'z'])
  t.equal(l.statusOf('a.yml')!.error, null)
  t.ok(l.sets.every((s) => new Set(s.rules.map((r) => r.id)).size === s.rules.length), 'no published set has duplicate ids')
})

t.test('two files swapping ids both load, whichever order the watcher reports them in', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'a.yml'), doc(['x', 'http://x/a']))
  writeFileSync(join(dir, 'b.yml'), doc(['y', 'http://x/b']))
  const l = await startLoader(t, [dir])
  writeFileSync(join(dir, 'a.yml'), doc(['y', 'http://x/a']))
  writeFileSync(join(dir, 'b.yml'), doc(['x', 'http://x/b']))
  await until(() => l.urlOf('y') === 'http://x/a' && l.urlOf('x') === 'http://x/b', 'swapped ids loaded')
  t.same(l.loader.status().map((s) => s.error), [null, null])
  t.same(l.ids(), ['y', 'x'], 'still in path order')
})

t.test('a subdirectory created after start is watched too', async (t) => {
  const dir = tempDir(t)
  const l = await startLoader(t, [dir])
  t.same(l.ids(), [], 'an empty directory is an empty set')
  mkdirSync(join(dir, 'team', 'api'), { recursive: true })
  writeFileSync(join(dir, 'team', 'api', 'r.yml'), doc('deep'))
  await until(() => l.ids()[0] === 'deep', 'new nested file loaded')
  writeFileSync(join(dir, 'team', 'api', 'r.yml'), doc('deeper'))
  await until(() => l.ids()[0] === 'deeper', 'nested file change loaded')
})

t.test('an editor writing via rename → one reload with the new rules', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'a.yml')
  writeFileSync(file, doc('a'))
  const l = await startLoader(t, [dir])
  writeFileSync(join(dir, '.a.yml.tmp'), doc(['a', 'http://x/renamed']))
  renameSync(join(dir, '.a.yml.tmp'), file)
  await until(() => l.urlOf('a') === 'http://x/renamed', 'renamed-over file loaded')
  await l.loader.settled()
  t.same(l.sets.map((s) => s.version), [1, 2], 'published once')
})

t.test('a single watched file deleted and recreated', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'rules.yml')
  writeFileSync(file, doc('a'))
  const l = await startLoader(t, [file])
  rmSync(file)
  await until(() => l.statusOf('rules.yml')?.error != null, 'missing file reported')
  t.match(l.statusOf('rules.yml')!.error, /rules\.yml: no such file or directory/)
  t.same(l.ids(), ['a'], 'a configured file that vanishes keeps its rules')
  writeFileSync(file, doc('b'))
  await until(() => l.ids()[0] === 'b', 'recreated file loaded')
  t.equal(l.statusOf('rules.yml')!.error, null)
})

t.test('a burst of writes publishes the final content, not every step', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'a.yml')
  writeFileSync(file, doc('a'))
  const l = await startLoader(t, [dir])
  for (let i = 1; i <= 20; i++) writeFileSync(file, doc(['a', `http://x/${i}`]))
  await until(() => l.urlOf('a') === 'http://x/20', 'final content loaded')
  await l.loader.settled()
  t.ok(l.sets.length <= 4, `coalesced into few publishes (${l.sets.length - 1})`)
})

/** Lays out a ConfigMap volume: `..<ts>/rules.yml`, `..data -> ..<ts>`, `rules.yml -> ..data/rules.yml`. */
function configMap(dir: string, ts: string, content: string, previous?: string): void {
  mkdirSync(join(dir, ts))
  writeFileSync(join(dir, ts, 'rules.yml'), content)
  if (previous === undefined) {
    symlinkSync(ts, join(dir, '..data'))
    symlinkSync(join('..data', 'rules.yml'), join(dir, 'rules.yml'))
    return
  }
  // What the kubelet does: a new symlink renamed over ..data (atomic), then the old dir removed.
  symlinkSync(ts, join(dir, '..data_tmp'))
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
  rmSync(join(dir, previous), { recursive: true })
}

/** Kubernetes Rule manifests (Oathkeeper Maester's format), one YAML document each; ids are `<name>.default`. */
const manifests = (...names: string[]): string =>
  names
    .map((n) => `apiVersion: oathkeeper.ory.sh/v1alpha1\nkind: Rule\nmetadata: { name: ${n} }\nspec: { match: { url: 'http://x/${n}', methods: [GET] } }\n`)
    .join('---\n')

const formats = {
  oathkeeper: { content: (id: string) => doc(id), id: (id: string) => id },
  maester: { content: (id: string) => manifests(id), id: (id: string) => `${id}.default` },
}

for (const mode of ['directory', 'file'] as const) {
  for (const [format, { content, id }] of Object.entries(formats)) {
    t.test(`a ConfigMap symlink swap publishes the new rules (${mode} repository, ${format} rules)`, async (t) => {
      const dir = tempDir(t)
      configMap(dir, '..2024_01', content('old'))
      const l = await startLoader(t, [mode === 'directory' ? dir : join(dir, 'rules.yml')])
      t.same(l.ids(), [id('old')])
      t.same(l.loader.status().map((s) => s.source), [join(dir, 'rules.yml')], 'the ..data internals are not sources')
      configMap(dir, '..2024_02', content('new'), '..2024_01')
      await until(() => l.ids()[0] === id('new'), 'swapped content loaded')
      await l.loader.settled()
      t.same(l.sets.map((s) => s.rules.map((r) => r.id)), [[id('old')], [id('new')]], 'one publish for the swap')
      configMap(dir, '..2024_03', content('newer'), '..2024_02')
      await until(() => l.ids()[0] === id('newer'), 'second swap loaded')
    })
  }
}

t.test('a rule directory that disappears keeps its rules and reports it', async (t) => {
  const dir = tempDir(t)
  const rules = join(dir, 'rules')
  mkdirSync(rules)
  writeFileSync(join(rules, 'a.yml'), doc('a'))
  const l = await startLoader(t, [rules])
  rmSync(rules, { recursive: true })
  await until(() => l.statusOf('a.yml')?.error != null, 'missing directory reported')
  t.match(l.statusOf('a.yml')!.error, /rules: no such file or directory/)
  t.same(l.ids(), ['a'])
  mkdirSync(rules)
  writeFileSync(join(rules, 'a.yml'), doc('a2'))
  await until(() => l.ids()[0] === 'a2', 'recreated directory loaded')
  t.equal(l.statusOf('a.yml')!.error, null)
})
