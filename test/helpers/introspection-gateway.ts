import type { Test } from 'tap'
import { request } from 'undici'
import { ALL_HANDLERS, startGateway, startUpstream } from './servers.js'

/**
 * A gateway with one rule, `GET http://gw.test/api` → a fresh upstream, protected by
 * oauth2_introspection with `config` as its global config; both closed at the test's end.
 * `get(token)` calls it with that bearer token.
 */
export async function introspectionGateway(t: Test, config: Record<string, unknown>) {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const gw = await startGateway(
    {
      'rules.yml': `
- id: api
  match: { url: 'http://gw.test/api', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: oauth2_introspection }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`,
    },
    { authenticators: { ...ALL_HANDLERS.authenticators, oauth2_introspection: { enabled: true, config } } },
  )
  t.teardown(() => gw.close())
  const get = async (token: string): Promise<{ status: number; body: string }> => {
    const res = await request(`${gw.proxy}/api`, { headers: { host: 'gw.test', authorization: `Bearer ${token}` } })
    return { status: res.statusCode, body: await res.body.text() }
  }
  return { gw, up, get }
}
