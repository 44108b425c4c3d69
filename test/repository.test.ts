import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { ConfigError } from '../src/errors.js'
import { RuleLoader, type LoadedRules } from '../src/rules/loader.js'
import { openRepository, type SourceRead } from '../src/rules/repository/index.js'
import type { RuleSpec } from '../src/rules/types.js'
import { until } from './helpers/wait.js'

const doc = (...ids: string[]): string => ids.map((id) => `- id: ${id}\n  match: { url: 'http://x/${id}' }\n`).join('')
const opts = (cwd: string) => ({ cwd, pollIntervalMs: 0 })

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-repo-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A rules server on 127.0.0.1:0 with ETags; counts requests and the 304s it answered. */
async function rulesServer(t: Test) {
  const state = { body: doc('a'), status: 200, requests: 0, notModified: 0 }
  const server = createServer((req, res) => {
    state.requests++
    if (state.status !== 200) return res.writeHead(state.status).end('nope')
    const etag = `"${createHash('sha1').update(state.body).digest('hex')}"`
    if (req.headers['if-none-match'] === etag) {
      state.notModified++
      return res.writeHead(304, { etag }).end()
    }
    res.writeHead(200, { etag, 'content-type': 'application/yaml' }).end(state.body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/rules.yml` }
}

async function httpLoader(t: Test, url: string) {
  const sets: LoadedRules<{ id: string; url: string }>[] = []
  const loader = new RuleLoader({
    repositories: [url],
    pollIntervalMs: 30,
    debounceMs: 5,
    compile: (spec: RuleSpec) => ({ id: spec.id, url: spec.match.url }),
    onUpdate: (set) => sets.push(set),
    logger: pino({ level: 'silent' }),
  })
  t.teardown(() => loader.close())
  await loader.start()
  return { loader, sets, ids: () => sets[sets.length - 1]!.rules.map((r) => r.id) }
}

t.test('http repository: polls with If-None-Match; 304 publishes nothing; a new body is loaded', async (t) => {
  const srv = await rulesServer(t)
  const l = await httpLoader(t, srv.url)
  t.same(l.ids(), ['a'])
  await until(() => srv.state.notModified >= 3, 'three conditional polls answered 304')
  t.same(l.sets.map((s) => s.version), [1], 'unchanged document, nothing new published')
  t.match(l.loader.status(), [{ source: srv.url, repository: srv.url, error: null, rules: 1 }])

  srv.state.body = doc('a', 'b')
  await until(() => l.ids().length === 2, 'changed document loaded')
  t.same(l.ids(), ['a', 'b'])
})

t.test('http repository: a failing fetch keeps the last good rules and is reported until it recovers', async (t) => {
  const srv = await rulesServer(t)
  const l = await httpLoader(t, srv.url)
  srv.state.status = 500
  await until(() => l.loader.status()[0]!.error !== null, 'fetch error reported')
  t.equal(l.loader.status()[0]!.error, `GET ${srv.url}: HTTP 500 Internal Server Error`)
  t.same(l.ids(), ['a'], 'last good rules kept')
  srv.state.status = 200
  await until(() => l.loader.status()[0]!.error === null, 'recovered')
  t.same(l.ids(), ['a'])
})

t.test('http repository unreachable at start → reported, start still resolves', async (t) => {
  // A port that was just free: nothing listens there any more.
  const probe = createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((r) => probe.close(() => r()))
  const url = `http://127.0.0.1:${port}/rules.yml`
  const l = await httpLoader(t, url)
  t.same(l.ids(), [])
  t.match(l.loader.status()[0], { source: url, error: `GET ${url}: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`, rules: 0 })
})

t.test('http repository URLs are shown without credentials', async (t) => {
  const repo = openRepository('https://user:secret@rules.test/r.yml', 0, opts('/'))
  t.equal(repo.url, 'https://rules.test/r.yml')
})

t.test('inline:// takes standard and URL-safe base64', async (t) => {
  const text = doc('i') + '# ~~~???>>>\n' // produces + and / (or - and _) in base64
  for (const b64 of [Buffer.from(text).toString('base64'), Buffer.from(text).toString('base64url')]) {
    const reads = await openRepository(`inline://${b64}`, 3, opts('/')).scan()
    t.same(reads, [{ source: 'access_rules.repositories[3] (inline)', text }])
  }
})

t.test('file://./relative and file://relative resolve against cwd', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'r.yml'), doc('r'))
  for (const url of ['file://./r.yml', 'file://r.yml']) {
    const [read] = await openRepository(url, 0, opts(dir)).scan()
    t.same(read, { source: url.slice('file://'.length), text: doc('r') }, url)
  }
})

t.test('a directory listing follows symlinks, skips dangling ones and survives a symlink loop', async (t) => {
  const dir = tempDir(t)
  const outside = tempDir(t)
  writeFileSync(join(outside, 'linked.yml'), doc('l'))
  mkdirSync(join(dir, 'sub'))
  writeFileSync(join(dir, 'sub', 'x.yml'), doc('x'))
  symlinkSync(join(outside, 'linked.yml'), join(dir, 'a.yml'))
  symlinkSync(join(dir, 'missing.yml'), join(dir, 'dangling.yml'))
  symlinkSync(dir, join(dir, 'sub', 'loop'))
  const reads = await openRepository(dir, 0, opts('/')).scan()
  t.same(
    reads.map((r: SourceRead) => r.source),
    [join(dir, 'a.yml'), join(dir, 'sub', 'x.yml')],
  )
})

t.test('an unreadable directory makes the whole repository unavailable, not empty', async (t) => {
  const dir = tempDir(t)
  const [read] = await openRepository(join(dir, 'gone'), 0, opts('/')).scan()
  t.same(read, { source: join(dir, 'gone'), error: `${join(dir, 'gone')}: no such file or directory`, unavailable: true })
})

t.test('unsupported schemes and malformed file URLs → ConfigError', async (t) => {
  t.throws(() => openRepository('gs://bucket/r.json', 1, opts('/')), ConfigError)
  t.throws(() => openRepository('file:///a/%2Fb', 0, opts('/')), ConfigError)
})
