import t from 'tap'
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { startGateway, startUpstream } from './helpers/servers.js'
import { until } from './helpers/wait.js'
import { writeAtomic } from './helpers/files.js'

const up = await startUpstream()
t.teardown(() => up.close())

const rule = (id: string, path: string, upstream: string, authorizer = 'allow'): string => `
- id: ${id}
  match: { url: 'http://gw.test${path}', methods: [GET] }
  upstream: { url: '${upstream}' }
  authenticators: [{ handler: noop }]
  authorizer: { handler: ${authorizer} }
  mutators: [{ handler: noop }]
`

t.test('add, change, break, fix, delete files while requests run: no request fails', async (t) => {
  const gw = await startGateway({ 'stable.yml': rule('stable', '/stable', up.url) })
  t.teardown(() => gw.close())
  const status = async (path: string): Promise<number> => {
    const r = await request(`${gw.proxy}${path}`, { headers: { host: 'gw.test' } })
    await r.body.text()
    return r.statusCode
  }
  const ruleStatus = async (): Promise<{ source: string; error: string | null }[]> =>
    (await (await request(`${gw.api}/rules/status`)).body.json()) as { source: string; error: string | null }[]

  // Load runs for the whole test: 4 concurrent loops against the stable rule.
  let running = true
  const failures: number[] = []
  let sent = 0
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      const s = await status('/stable')
      sent++
      if (s !== 200) failures.push(s)
    }
  })

  const b = join(gw.dir, 'b.yml')
  writeFileSync(b, rule('b', '/b', up.url))
  await until(async () => (await status('/b')) === 200, 'added file served')

  writeFileSync(b, rule('b', '/b2', up.url))
  await until(async () => (await status('/b2')) === 200 && (await status('/b')) === 404, 'changed file served')

  writeFileSync(b, '- id: b\n  match: [this is: not valid')
  await until(async () => (await ruleStatus()).some((s) => s.source.endsWith('b.yml') && s.error !== null), 'broken file reported')
  t.equal(await status('/b2'), 200, 'broken file keeps its last good rules')
  const broken = (await ruleStatus()).find((s) => s.source.endsWith('b.yml'))!
  t.match(broken.error, /b\.yml/, 'the error names the file')

  writeFileSync(b, rule('b', '/b3', up.url, 'nope'))
  await until(async () => ((await ruleStatus()).find((s) => s.source.endsWith('b.yml'))?.error ?? '').includes('nope'), 'unknown handler reported')
  t.equal(await status('/b2'), 200, 'still the last good rules')

  // Editors that save via rename.
  writeFileSync(join(gw.dir, '.b.yml.tmp'), rule('b', '/b4', up.url))
  renameSync(join(gw.dir, '.b.yml.tmp'), b)
  await until(async () => (await status('/b4')) === 200, 'fixed file (written via rename) served')
  t.equal((await ruleStatus()).find((s) => s.source.endsWith('b.yml'))?.error, null, 'error cleared')

  rmSync(b)
  await until(async () => (await status('/b4')) === 404, 'deleted file dropped')

  running = false
  await Promise.all(loops)
  t.ok(sent > 20, `requests ran during the reloads (${sent})`)
  t.same(failures, [], 'no request to the stable rule failed')
})

t.test('a duplicate id across files keeps the first and reports the second', async (t) => {
  const gw = await startGateway({ 'a.yml': rule('dup', '/a', up.url) })
  t.teardown(() => gw.close())
  writeAtomic(join(gw.dir, 'z.yml'), rule('dup', '/z', up.url))
  await until(async () => {
    const s = (await (await request(`${gw.api}/rules/status`)).body.json()) as { source: string; error: string | null }[]
    return s.some((x) => x.source.endsWith('z.yml') && x.error !== null && x.error.includes('dup'))
  }, 'duplicate reported')
  const r = await request(`${gw.proxy}/a`, { headers: { host: 'gw.test' } })
  await r.body.text()
  t.equal(r.statusCode, 200)
})
