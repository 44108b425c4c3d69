import t from 'tap'
import { listRules } from '../src/cli/rules.js'
import { startGateway } from './helpers/servers.js'

t.test('rules list pages through GET /rules: more than one page of rules are all listed', async (t) => {
  const rules = Array.from(
    { length: 1203 },
    (_, i) => `- { id: r${i}, match: { url: 'http://gw.test/r${i}', methods: [GET] }, authenticators: [{ handler: noop }], authorizer: { handler: allow }, mutators: [{ handler: noop }] }`,
  ).join('\n')
  const gw = await startGateway({ 'many.yml': `${rules}\n` })
  t.teardown(() => gw.close())
  const listed = await listRules(gw.api)
  t.equal(listed.length, 1203)
  t.equal(new Set(listed.map((r) => r.id)).size, 1203, 'no rule twice')
})
