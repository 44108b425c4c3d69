import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { request } from 'undici'
import { parse } from 'yaml'
import { ROOT, start } from './helpers/cli.js'
import { takeQuickstartPorts } from './helpers/quickstart-ports.js'

// The quickstart on its real ports (4455, 4456, 4460) with the real config/ and rules/, and
// the README's curl walk-through run verbatim against it.
const sh = promisify(execFile)
// npm-start.test.ts needs the same ports: take turns.
t.teardown(await takeQuickstartPorts())
const qs = await start(['quickstart'], /gateway listening/, { timeoutMs: 30_000 })
t.teardown(() => qs.stop())

async function call(path: string, headers: Record<string, string> = {}) {
  const res = await request(`http://127.0.0.1:4455${path}`, { headers })
  const text = await res.body.text()
  return { status: res.statusCode, text, headers: res.headers }
}

t.test('example rules behave as the README says', async (t) => {
  const pub = await call('/public/hello')
  t.equal(pub.status, 200)
  t.match(JSON.parse(pub.text), { url: '/public/hello', headers: { 'x-user': 'guest' } })
  const user = await call('/users/42/profile')
  t.equal(user.status, 200)
  t.match(JSON.parse(user.text), { url: '/42/profile', headers: { 'x-user-id': '42', 'x-request-method': 'get' } })
  t.equal((await call('/users/abc/profile')).status, 404, 'capture must be numeric')
  t.equal((await call('/admin/settings')).status, 401)
  const internal = await call('/internal/report')
  t.equal(internal.status, 403)
  t.match(JSON.parse(internal.text), { error: { code: 403, request: /.+/ } }, 'verbose rule-level error handler')
  t.equal((await call('/nothing-here')).status, 404)
})

t.test("the README's curl walk-through works verbatim", async (t) => {
  const readme = readFileSync(`${ROOT}/README.md`, 'utf8')
  const block = /### A walk-through with curl[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1]
  t.ok(block, 'walk-through block found')
  const commands = block!
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => l.startsWith('curl '))
  t.ok(commands.length >= 8, `${commands.length} commands`)
  const outputs: string[] = []
  for (const c of commands) {
    const { stdout } = await sh('bash', ['-c', c], { timeout: 10_000 })
    outputs.push(stdout)
    t.ok(stdout.length > 0, `output from: ${c}`)
  }
  const all = outputs.join('\n')
  t.match(all, /"x-user": "guest"/)
  t.match(all, /HTTP\/1\.1 401/)
  t.match(all, /HTTP\/1\.1 403/)
  t.match(all, /HTTP\/1\.1 404/)
  t.match(outputs.find((o, i) => commands[i]!.includes('/decisions')), /HTTP\/1\.1 200[\s\S]*x-user: guest/i)
  t.match(outputs.find((o, i) => commands[i]!.includes('--path-as-is')), /HTTP\/1\.1 401/)
})

t.test("the README's token server walk-through works verbatim", async (t) => {
  const readme = readFileSync(`${ROOT}/README.md`, 'utf8')
  const block = /### The token server: client credentials with curl[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1]
  t.ok(block, 'walk-through block found')
  // Run twice: the block must be repeatable against the same quickstart data.
  for (const round of [1, 2]) {
    const { stdout } = await sh('bash', ['-ec', block!], { timeout: 20_000 })
    const lines = stdout.split('\n').filter((l) => l.startsWith('{'))
    const json = lines.map((l) => JSON.parse(l))
    t.match(json[0], { client_id: 'demo', client_secret: 'demo-secret', grant_types: ['client_credentials'] }, `round ${round}: client created`)
    t.match(json[1], { token_type: 'bearer', scope: 'api api.read', expires_in: 3600 })
    t.match(json[2], { active: true, client_id: 'demo', scope: 'api.read', token_use: 'access_token' })
    t.same(json[3], { active: false }, 'tampered token')
    t.same(json[4], { active: false }, 'revoked token')
    t.equal(json.length, 5)
  }
})

t.test('the token server answers on its quickstart ports', async (t) => {
  const d = await request('http://127.0.0.1:4444/.well-known/openid-configuration')
  const doc = (await d.body.json()) as Record<string, unknown>
  t.equal(doc.issuer, 'http://127.0.0.1:4444/')
  t.equal(doc.introspection_endpoint, 'http://127.0.0.1:4445/admin/oauth2/introspect')
  const ready = await request('http://127.0.0.1:4445/health/ready')
  t.equal(ready.statusCode, 200)
  await ready.body.dump()
})

t.test('the login app answers on 3000, the token server sends browsers to it, the demo client is registered', async (t) => {
  const home = await request('http://127.0.0.1:3000/')
  t.equal(home.statusCode, 200)
  t.match(await home.body.text(), /Sign in with demo-app/)
  const tsConfig = parse(readFileSync(`${ROOT}/config/token-server.yml`, 'utf8')) as { urls: Record<string, unknown> }
  t.match(tsConfig.urls, { login: 'http://127.0.0.1:3000/login', consent: 'http://127.0.0.1:3000/consent', logout: 'http://127.0.0.1:3000/logout' })
  const client = await request('http://127.0.0.1:4445/admin/clients/demo-app')
  t.equal(client.statusCode, 200)
  t.match(await client.body.json(), {
    client_id: 'demo-app',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1:3000/callback', 'http://127.0.0.1:5555/callback'],
    token_endpoint_auth_method: 'none',
  })
})

t.test("the README's protected-API walk-through works verbatim: 200, 401, 401, 403, decision 200, revoked 401", async (t) => {
  const readme = readFileSync(`${ROOT}/README.md`, 'utf8')
  const block = /### The protected API: client credentials → bearer token → gateway[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1]
  t.ok(block, 'walk-through block found')
  for (const round of [1, 2]) {
    const { stdout } = await sh('bash', ['-ec', block!], { timeout: 20_000 })
    const statuses = [...stdout.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]))
    t.same(statuses, [401, 401, 403, 200, 401], `round ${round}: the statuses the README promises`)
    const echo = JSON.parse(stdout.slice(stdout.indexOf('{'), stdout.indexOf('\n}') + 2))
    t.match(echo.headers, { 'x-user': 'kyma-demo', 'x-scope': 'api.read', authorization: /^Bearer ey/ }, 'identity reaches the upstream')
    t.match(stdout, /HTTP\/1\.1 200 OK[\s\S]*X-User: kyma-demo/i, 'the decision API answers with the mutated headers')
  }
})
