import t from 'tap'
import { join } from 'node:path'
import { request } from 'undici'
import { startGateway } from './helpers/servers.js'
import { writeAtomic } from './helpers/files.js'

// Oathkeeper's /health/ready checks `rules_loaded`: at least one valid rule is in force.

const VALID = `
- id: ok
  match: { url: 'http://gw.test/ok', methods: [GET] }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`

async function ready(api: string): Promise<{ status: number; body: unknown }> {
  const r = await request(`${api}/health/ready`)
  return { status: r.statusCode, body: await r.body.json() }
}

t.test('every rule file broken → 503; a valid rule arriving → 200', async (t) => {
  const gw = await startGateway({ 'broken.yml': '- id: x\n  match: [not, a, map]\n' })
  t.teardown(() => gw.close())
  t.same(await ready(gw.api), { status: 503, body: { errors: { rules: 'no valid access rule is loaded' } } })
  // Wait for the reload's own event, not for time.
  const loaded = new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (gw.gateway.rules().rules.length > 0) {
        clearInterval(check)
        resolve()
      }
    }, 10)
  })
  writeAtomic(join(gw.dir, 'good.yml'), VALID)
  await loaded
  t.same(await ready(gw.api), { status: 200, body: { status: 'ok' } })
})

t.test('an empty rules directory → 503', async (t) => {
  const gw = await startGateway({})
  t.teardown(() => gw.close())
  t.equal((await ready(gw.api)).status, 503)
})

t.test('a missing rules directory → 503', async (t) => {
  const gw = await startGateway({}, { access_rules: { repositories: ['/nonexistent/gatehouse-rules'] } })
  t.teardown(() => gw.close())
  t.equal((await ready(gw.api)).status, 503)
})

t.test('one valid rule beside a broken file → 200', async (t) => {
  const gw = await startGateway({ 'broken.yml': 'nope: [', 'good.yml': VALID })
  t.teardown(() => gw.close())
  t.equal((await ready(gw.api)).status, 200)
})
