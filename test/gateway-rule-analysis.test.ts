import t from 'tap'
import { join } from 'node:path'
import { request } from 'undici'
import type { LintFinding } from '../src/rules/lint.js'
import { startGateway, startUpstream, type TestGateway } from './helpers/servers.js'
import { until } from './helpers/wait.js'
import { writeAtomic } from './helpers/files.js'

const up = await startUpstream()
t.teardown(() => up.close())

const rule = (id: string, url: string, opts: { methods?: string[]; priority?: number; authn?: string } = {}): string => `
- id: ${id}
  match: { url: '${url}', methods: [${(opts.methods ?? ['GET']).join(', ')}] }
${opts.priority === undefined ? '' : `  priority: ${opts.priority}\n`}  upstream: { url: '${up.url}' }
  authenticators: [{ handler: ${opts.authn ?? 'anonymous'} }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`

type Status = { source: string; findings: LintFinding[] }[]
const status = async (gw: TestGateway): Promise<Status> => (await (await request(`${gw.api}/rules/status`)).body.json()) as Status

/** Rewrites a rule file and waits until the gateway has loaded and analysed the new set. */
async function reload(gw: TestGateway, file: string, text: string): Promise<void> {
  const before = gw.gateway.rules().version
  writeAtomic(join(gw.dir, file), text)
  await until(() => gw.gateway.rules().version > before, 'the reload')
  await gw.gateway.analysed()
}

t.test('overlaps across files: logged once with the witness, listed in /rules/status, before a request gets the 500', async (t) => {
  const gw = await startGateway({
    'a.yml': rule('orders', 'http://gw.test/<(orders|carts)>/<[0-9]+>', { methods: ['GET', 'POST'] }),
    'b.yml': rule('carts', 'http://gw.test/carts/<[^/]*>', { methods: ['POST', 'PUT'] }),
  })
  t.teardown(() => gw.close())
  await gw.gateway.analysed()
  const s = await status(gw)
  t.equal(s.length, 2)
  for (const source of s) {
    t.equal(source.findings.length, 1, `${source.source} lists the overlap`)
    t.match(source.findings[0], { severity: 'error', kind: 'overlap', witness: { method: 'POST', url: 'http://gw.test/carts/0' } })
    t.same(source.findings[0]!.rules.map((r) => r.id), ['orders', 'carts'])
  }
  const logged = () => gw.logs.filter((l) => l.kind === 'overlap')
  t.equal(logged().length, 1)
  t.match(logged()[0], { level: 'warn', msg: /rules "orders" .* and "carts" .* both match POST http:\/\/gw\.test\/carts\/0/ })
  // The witness is a request that really gets the 500.
  const r = await request(`${gw.proxy}/carts/0`, { method: 'POST', headers: { host: 'gw.test' } })
  t.equal(r.statusCode, 500)
  await r.body.text()

  // A reload that keeps the overlap does not log it again; one that removes it clears the status.
  await reload(gw, 'c.yml', rule('other', 'http://gw.test/other'))
  t.equal(logged().length, 1, 'logged once, not on every reload')
  t.equal((await status(gw)).find((x) => x.source.endsWith('c.yml'))!.findings.length, 0)
  await reload(gw, 'b.yml', rule('carts', 'http://gw.test/carts/<[^/]*>', { methods: ['PUT'] }))
  t.same((await status(gw)).flatMap((x) => x.findings), [])
})

t.test('precedence: priority: the higher priority answers, lint shows the winner, a tie is a 500', async (t) => {
  const gw = await startGateway(
    {
      'api.yml':
        rule('api', 'http://gw.test/api/<.*>', { authn: 'unauthorized' }) +
        rule('health', 'http://gw.test/api/health', { priority: 10 }) +
        rule('tie-a', 'http://gw.test/tie/<.*>', { priority: 5 }) +
        rule('tie-b', 'http://gw.test/tie/<[a-z]+>', { priority: 5 }),
    },
    { access_rules: { precedence: 'priority' } },
  )
  t.teardown(() => gw.close())
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const r = await request(`${gw.proxy}${path}`, { headers: { host: 'gw.test' } })
    return { status: r.statusCode, body: await r.body.text() }
  }
  t.equal((await get('/api/health')).status, 200, 'the open health rule wins')
  t.equal((await get('/api/orders')).status, 401, 'everything else under /api needs a token')
  const tie = await get('/tie/x')
  t.equal(tie.status, 500)
  t.equal((await get('/tie/1')).status, 200, 'only tie-a matches')
  await gw.gateway.analysed()
  const findings = (await status(gw))[0]!.findings
  t.match(findings.find((f) => f.winner !== undefined), { severity: 'info', winner: 'health', witness: { url: 'http://gw.test/api/health' } })
  t.match(findings.find((f) => f.severity === 'error'), { kind: 'overlap', message: /"tie-a".*"tie-b".*same priority 5/ })
})

t.test('the default stays exclusive: the same rules without the setting are a 500', async (t) => {
  const gw = await startGateway({
    'api.yml': rule('api', 'http://gw.test/api/<.*>', { authn: 'unauthorized' }) + rule('health', 'http://gw.test/api/health', { priority: 10 }),
  })
  t.teardown(() => gw.close())
  const r = await request(`${gw.proxy}/api/health`, { headers: { host: 'gw.test' } })
  t.equal(r.statusCode, 500)
  await r.body.text()
  await gw.gateway.analysed()
  t.match((await status(gw))[0]!.findings, [{ severity: 'error', kind: 'overlap', witness: { url: 'http://gw.test/api/health' } }])
})
