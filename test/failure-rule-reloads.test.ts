// Failure behaviour: 100 rule reloads (valid, broken, fixed files) while load runs through the
// gateway. No request fails, and every answer comes from the last good rule set: a broken write
// never yields a 404 or 500 for a path whose last good rule exists.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { Agent, request } from 'undici'
import { until } from './helpers/faults.js'
import { startGateway, startUpstream } from './helpers/servers.js'

const up = await startUpstream()
t.teardown(() => up.close())

/** A rule on `path` whose answers carry `X-Rule-Version: <version>` (the upstream echoes it). */
const rule = (id: string, path: string, version: string): string => `
- id: ${id}
  match: { url: 'http://gw.test${path}', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: header, config: { headers: { X-Rule-Version: '${version}' } } }]
`

/** Ways to break churn.yml; each one must leave its last good rule in force. */
const BROKEN: readonly { what: string; text: string }[] = [
  { what: 'bad YAML', text: '- id: churn\n  match: [this is: not valid' },
  { what: 'an unknown key', text: rule('churn', '/churn', 'x').replace('match:', 'mtch:') },
  { what: 'an unknown handler', text: rule('churn', '/churn', 'x').replace('handler: allow', 'handler: nope') },
  { what: 'a bad pattern', text: rule('churn', '/churn<[>', 'x') },
  { what: 'an id another file has', text: rule('stable', '/churn', 'x') },
  { what: 'an object, not a list', text: '{ id: churn }' },
  { what: 'a torn write (half the file)', text: rule('churn', '/churn', 'x').slice(0, 90) },
]

interface Seen {
  readonly path: string
  readonly start: number
  readonly end: number
  readonly status: number
  readonly version: string | undefined
}

t.test('100 reloads of valid, broken and fixed files under load: 0 failed requests, always the last good set', { timeout: 90_000 }, async (t) => {
  const gw = await startGateway({
    'stable.yml': rule('stable', '/stable', 's'),
    'churn.yml': rule('churn', '/churn', '0'),
    'extra.yml': rule('extra', '/extra', 'e0'),
  })
  t.teardown(() => gw.close())
  const agent = new Agent({ connections: 16 })
  t.teardown(() => agent.close())
  const churn = join(gw.dir, 'churn.yml')
  const extra = join(gw.dir, 'extra.yml')
  const status = (file: string) => gw.gateway.loader.status().find((s) => s.source.endsWith(file))

  const get = async (path: string): Promise<Seen> => {
    const start = Date.now()
    try {
      const res = await request(`${gw.proxy}${path}`, { dispatcher: agent, headers: { host: 'gw.test' } })
      const body = await res.body.text()
      const version = res.statusCode === 200 ? (JSON.parse(body) as { headers: Record<string, string> }).headers['x-rule-version'] : undefined
      return { path, start, end: Date.now(), status: res.statusCode, version }
    } catch {
      return { path, start, end: Date.now(), status: 0, version: undefined }
    }
  }

  // Load: 6 loops, each cycling through the three paths, for the whole test.
  let running = true
  const loops: Seen[][] = Array.from({ length: 6 }, () => [])
  const load = loops.map(async (seen, i) => {
    const paths = ['/stable', '/churn', '/extra']
    for (let n = i; running; n++) seen.push(await get(paths[n % 3]!))
  })

  // When each churn version was written, and when it was first seen served.
  const writtenAt = new Map<string, number>([['0', 0]])
  const firstServedAt = new Map<string, number>()
  let reloads = 0
  let version = 0
  for (let i = 0; i < 100; i++) {
    if (i % 3 === 1) {
      // Broken: wait until the loader has read it and reported why.
      const broken = BROKEN[Math.floor(i / 3) % BROKEN.length]!
      writeFileSync(churn, broken.text)
      const took = await until(() => status('churn.yml')?.error != null, 20_000, 5)
      t.ok(took >= 0, `write ${i + 1}: ${broken.what} → reported (${took}ms)`)
    } else {
      // Valid (or fixed): wait until a request is served by it.
      const v = String(++version)
      writtenAt.set(v, Date.now())
      writeFileSync(churn, rule('churn', '/churn', v))
      const took = await until(async () => (await get('/churn')).version === v, 20_000, 5)
      firstServedAt.set(v, Date.now())
      t.ok(took >= 0, `write ${i + 1}: version ${v} served (${took}ms)`)
      t.equal(status('churn.yml')?.error, null, `write ${i + 1}: the error is cleared`)
    }
    reloads++
    // The other file breaks and heals now and then, while churn.yml keeps changing.
    if (i % 10 === 4) writeFileSync(extra, '- id: extra\n  match: { url: [')
    if (i % 10 === 7) writeFileSync(extra, rule('extra', '/extra', `e${i}`))
  }
  running = false
  await Promise.all(load)
  const all = loops.flat()

  t.equal(reloads, 100)
  t.ok(all.length > 300, `requests ran throughout (${all.length})`)
  t.same(
    all.filter((s) => s.status !== 200),
    [],
    '0 failed requests: no 404, no 500, no connection error',
  )
  t.same(all.filter((s) => s.path === '/churn' && !writtenAt.has(s.version ?? '')), [], 'every /churn answer came from a version that had been written valid')
  t.same(all.filter((s) => s.path === '/churn' && writtenAt.get(s.version!)! > s.end), [], '…and no version was served before it was written')
  // Once a version has been served, every request that starts afterwards gets it or a newer one:
  // a broken write never brings back an older set, let alone none.
  const stale = all.filter((s) => {
    if (s.path !== '/churn') return false
    let newest = 0
    for (const [v, at] of firstServedAt) if (at < s.start) newest = Math.max(newest, Number(v))
    return Number(s.version) < newest
  })
  t.same(stale, [], 'no answer from a set older than the last good one')
  for (const [i, seen] of loops.entries()) {
    const versions = seen.filter((s) => s.path === '/churn').map((s) => Number(s.version))
    t.ok(
      versions.every((v, j) => j === 0 || v >= versions[j - 1]!),
      `loop ${i}: versions never go backwards (${versions.length} answers)`,
    )
  }
  t.same([...new Set(all.filter((s) => s.path === '/stable').map((s) => s.version))], ['s'], 'the untouched file served throughout')
})
