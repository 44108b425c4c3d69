import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Pool, request } from 'undici'
import { clean, start } from './helpers/cli.js'
import { scrape, valueOf } from './helpers/prometheus.js'
import { startUpstream } from './helpers/servers.js'
import { exitOf, until } from './helpers/wait.js'

// `serve.proxy.workers: 2` through the built CLI: a primary and two workers sharing the ports.
const up = await startUpstream()
t.teardown(() => up.close())
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-workers-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const rule = (id: string, path: string): string => `- id: ${id}
  match: { url: 'http://<[^/]+>${path}<.*>', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: anonymous }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`
const rulesFile = join(dir, 'rules.yml')
writeFileSync(rulesFile, rule('old', '/old/'))
const configFile = join(dir, 'gatehouse.yml')
writeFileSync(
  configFile,
  `serve:
  proxy: { host: 127.0.0.1, port: 0, workers: 2 }
  api: { host: 127.0.0.1, port: 0 }
  prometheus: { host: 127.0.0.1, port: 0 }
access_rules: { repositories: ['${rulesFile}'] }
authenticators: { anonymous: { enabled: true } }
authorizers: { allow: { enabled: true } }
mutators: { noop: { enabled: true } }
log: { level: info, format: json }
`,
)

const gw = await start(['serve', '-c', configFile], /gateway workers ready/, { env: clean(), timeoutMs: 30_000 })
t.teardown(() => gw.stop())

type Line = Record<string, unknown>
const lines = (): Line[] =>
  gw
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line)
const readyLine = lines().find((l) => l.msg === 'gateway workers ready')!
const proxy = `http://127.0.0.1:${String(readyLine.proxy_port)}`
const api = `http://127.0.0.1:${String(readyLine.api_port)}`
const workerPids = (): number[] => lines().filter((l) => l.msg === 'gateway worker ready').map((l) => l.worker_pid as number)

/** `n` GETs, each on a new connection (the primary hands connections to workers in turn). */
async function fresh(url: string, n: number): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < n; i++) {
    const r = await request(url, { reset: true })
    await r.body.dump()
    statuses.push(r.statusCode)
  }
  return statuses
}

t.test('two workers answer every request, both take a share', async (t) => {
  t.equal(workerPids().length, 2)
  t.notOk(workerPids().includes(gw.child.pid!), 'the primary serves nothing itself')
  const pool = new Pool(proxy, { connections: 8 })
  t.teardown(() => pool.close())
  const statuses = await Promise.all(
    Array.from({ length: 200 }, (_, i) => pool.request({ method: 'GET', path: `/old/${i}` }).then(async (r) => (await r.body.dump(), r.statusCode))),
  )
  t.same(statuses.filter((s) => s !== 200), [], 'all 200 answered')
  await until(() => lines().filter((l) => l.msg === 'request').length >= 200, 'a log line for every request')
  const answeredBy = new Set(lines().filter((l) => l.msg === 'request').map((l) => l.pid))
  t.same([...answeredBy].sort(), [...workerPids()].sort(), 'request log lines come from both workers')
})

t.test('the metrics port (the primary) reports the sum over the workers', async (t) => {
  const listening = lines().find((l) => l.msg === 'cluster metrics listening')!
  t.equal(listening.pid, gw.child.pid, 'served by the primary')
  const s = await scrape(`http://${String(listening.metrics)}`)
  // The previous test sent 200 requests, answered by both workers (none since).
  t.equal(valueOf(s, 'gatehouse_requests_total', { service: 'proxy', rule_id: 'old', method: 'GET', status_code: '200' }), 200, 'every request counted once')
  t.equal(valueOf(s, 'gatehouse_requests_duration_seconds_count', { service: 'proxy', rule_id: 'old' }), 200, 'the histogram too')
  t.equal(valueOf(s, 'gatehouse_rules_loaded'), 1, 'rules in force: the smallest of the workers, not a sum')
  t.equal(valueOf(s, 'gatehouse_rule_reloads_total'), 2, 'counters add up: one first load per worker')
})

t.test('/health/ready answers in every worker', async (t) => {
  t.same(await fresh(`${api}/health/ready`, 6), [200, 200, 200, 200, 200, 200])
})

t.test('a rule file change is loaded by every worker', async (t) => {
  t.same(await fresh(`${proxy}/new/x`, 2), [404, 404])
  writeFileSync(rulesFile, rule('old', '/old/') + rule('new', '/new/'))
  const reloadedIn = (): Set<unknown> => new Set(lines().filter((l) => l.msg === 'access rules loaded' && l.rules === 2).map((l) => l.pid))
  await until(() => reloadedIn().size === 2, 'both workers to log the new rule set')
  t.same(await fresh(`${proxy}/new/x`, 6), [200, 200, 200, 200, 200, 200])
})

t.test('a worker that dies is replaced', async (t) => {
  const [victim] = workerPids()
  process.kill(victim!, 'SIGKILL')
  // Forking and loading a worker takes seconds on a busy machine.
  await until(() => workerPids().length === 3, 'a new worker to become ready', 60_000)
  t.match(lines().find((l) => l.msg === 'gateway worker died; restarting it'), { worker_pid: victim, signal: 'SIGKILL' })
  t.same(await fresh(`${proxy}/new/x`, 4), [200, 200, 200, 200], 'both workers serve, the new one with the current rules')
})

t.test('SIGTERM to the primary shuts every worker down; exit 0', async (t) => {
  const live = workerPids().slice(1)
  const exited = exitOf(gw.child)
  gw.child.kill('SIGTERM')
  t.same(await exited, { code: 0, signal: null })
  const gone = (pid: number): boolean => {
    try {
      process.kill(pid, 0)
      return false
    } catch {
      return true
    }
  }
  t.ok(live.every(gone), 'no worker outlives the primary')
  t.equal(lines().filter((l) => l.msg === 'shutting down').length, 3, 'the primary and both workers shut down in order')
})
