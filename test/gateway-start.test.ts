import t from 'tap'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { buildConfig } from '../src/config/load.js'
import { createGateway } from '../src/gateway/gateway.js'
import { createLogger } from '../src/observability/logger.js'
import { ALL_HANDLERS } from './helpers/servers.js'
import { until } from './helpers/wait.js'

const RULES = `- id: r
  match: { url: 'http://gw.test/<.*>', methods: [GET] }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return (server.address() as AddressInfo).port
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const s = createServer()
  const port = await listen(s)
  await new Promise((r) => s.close(r))
  return port
}

function gateway(proxyPort: number, apiPort: number, repositories: string[]) {
  const config = buildConfig(
    {
      serve: { proxy: { host: '127.0.0.1', port: proxyPort }, api: { host: '127.0.0.1', port: apiPort }, prometheus: { host: '127.0.0.1', port: 0 } },
      access_rules: { repositories },
      ...ALL_HANDLERS,
      log: { level: 'silent', format: 'json' },
    },
    {},
  )
  return createGateway(config, createLogger(config.log))
}

async function status(url: string): Promise<number> {
  const res = await request(url)
  await res.body.text()
  return res.statusCode
}

t.test('while the rules load, /health/alive is 200 and /health/ready 503; then ready is 200', async (t) => {
  // An http repository that answers only when the test says so.
  let release: () => void = () => undefined
  const answered = new Promise<void>((r) => (release = r))
  const repo = createServer((_req, res) => {
    void answered.then(() => res.writeHead(200, { 'content-type': 'application/yaml' }).end(RULES))
  })
  const repoPort = await listen(repo)
  t.teardown(() => {
    repo.closeAllConnections()
    repo.close()
  })
  const apiPort = await freePort()
  const gw = gateway(0, apiPort, [`http://127.0.0.1:${repoPort}/rules.yml`])
  t.teardown(() => gw.close())
  const started = gw.start()
  const api = `http://127.0.0.1:${apiPort}`
  // The API listens before the rules load (the repository holds them back until released).
  await until(async () => (await status(`${api}/health/alive`).catch(() => 0)) === 200, 'the API to listen')
  t.pass('alive while loading')
  t.equal(await status(`${api}/health/ready`), 503, 'not ready while loading')
  release()
  await started
  t.equal(await status(`${api}/health/ready`), 200, 'ready once loaded')
})

t.test('a proxy port in use: start() rejects and releases the API port (no half-started process)', async (t) => {
  const blocker = createServer()
  const busy = await listen(blocker)
  t.teardown(() => blocker.close())
  const apiPort = await freePort()
  const gw = gateway(busy, apiPort, [])
  await t.rejects(gw.start(), { code: 'EADDRINUSE' })
  await t.rejects(status(`http://127.0.0.1:${apiPort}/health/alive`), { code: 'ECONNREFUSED' }, 'the API is not left listening')
  await gw.close()
})
