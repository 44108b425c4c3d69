import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import t from 'tap'
import { Agent, request } from 'undici'
import { WebSocket, WebSocketServer } from 'ws'
import { buildConfigFor } from '../src/config/load.js'
import { ConfigError } from '../src/errors.js'
import { startupProblems, TOKEN_SERVER_CONFIG } from '../src/token-server/config.js'
import { selfSignedCert } from './helpers/certs.js'
import { errorWith } from './helpers/error-pattern.js'
import { startGateway, startUpstream } from './helpers/servers.js'
import { startTokenServer } from './helpers/token-server.js'

const first = selfSignedCert('first')
const second = selfSignedCert('second')
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const certPath = join(dir, 'tls.crt')
const keyPath = join(dir, 'tls.key')
writeFileSync(certPath, first.cert)
writeFileSync(keyPath, first.key)

// Trusts both test certificates, so a request succeeds whichever one is in force.
const agent = new Agent({ connect: { ca: [first.cert, second.cert] } })
t.teardown(() => agent.close())

/** The SHA-256 fingerprint of the certificate a TLS server presents now. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: [first.cert, second.cert], servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate().fingerprint256)
      socket.end()
    })
    socket.on('error', reject)
  })
}

/** Polls `check` until it holds; `ms` only bounds a hang, so it is generous for a busy machine. */
async function eventually(check: () => Promise<boolean>, ms = 20_000): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}

const up = await startUpstream()
t.teardown(() => up.close())
const wsUpstream = new WebSocketServer({ host: '127.0.0.1', port: 0 })
wsUpstream.on('connection', (ws, req) => ws.send(`proto=${String(req.headers['x-forwarded-proto'])}`))
await new Promise((r) => wsUpstream.once('listening', r))
t.teardown(() => wsUpstream.close())
const wsUpstreamUrl = `http://127.0.0.1:${(wsUpstream.address() as { port: number }).port}`
const gw = await startGateway(
  {
    'rules.yml': `
- id: tls
  match: { url: 'https://<[^/]+>/tls/<.*>', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: anonymous }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: wss
  match: { url: 'https://<[^/]+>/ws/<.*>', methods: [GET] }
  upstream: { url: '${wsUpstreamUrl}' }
  authenticators: [{ handler: anonymous }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
`,
  },
  {
    serve: {
      proxy: { host: '127.0.0.1', port: 0, tls: { cert: { path: certPath }, key: { path: keyPath } } },
      api: { host: '127.0.0.1', port: 0, tls: { cert: { base64: first.cert.toString('base64') }, key: { base64: first.key.toString('base64') } } },
    },
  },
)
t.teardown(() => gw.close())
const proxyPort = Number(new URL(gw.proxy).port)
const proxy = gw.proxy.replace('http:', 'https:')
const api = gw.api.replace('http:', 'https:')

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await request(url, { dispatcher: agent })
  return { status: res.statusCode, body: await res.body.text() }
}

t.test('proxy (cert from files) and API (cert as base64) answer over https; rules see the https scheme', async (t) => {
  const r = await get(`${proxy}/tls/hello`)
  t.equal(r.status, 200, r.body)
  t.equal(up.seen.at(-1)?.headers['x-forwarded-proto'], 'https')
  t.equal((await get(`${api}/health/alive`)).status, 200)
  t.equal(await servedFingerprint(proxyPort), first.fingerprint)
  await t.rejects(request(`${gw.proxy}/tls/hello`), 'plain http is not served on the https port')
})

t.test('WebSockets over TLS (wss://) are matched as https and tunnelled', async (t) => {
  const ws = new WebSocket(`${proxy.replace('https:', 'wss:')}/ws/secure`, { ca: [first.cert, second.cert] })
  const greeting = await new Promise<string>((resolve, reject) => {
    ws.once('message', (d: Buffer) => resolve(d.toString()))
    ws.once('error', reject)
  })
  t.equal(greeting, 'proto=https')
  ws.close()
})

t.test('replaced certificate files are put in force without a restart', async (t) => {
  writeFileSync(certPath, second.cert)
  writeFileSync(keyPath, second.key)
  t.ok(await eventually(async () => (await servedFingerprint(proxyPort)) === second.fingerprint), 'the new certificate is served')
  t.equal((await get(`${proxy}/tls/after-reload`)).status, 200)
  t.ok(gw.logs.some((l) => l.msg === 'TLS certificate reloaded' && l.tls === 'serve.proxy.tls'))

  // Replaced by rename (how cert-manager, editors and Kubernetes Secrets update files).
  writeFileSync(join(dir, 'tls.crt.new'), first.cert)
  writeFileSync(join(dir, 'tls.key.new'), first.key)
  renameSync(join(dir, 'tls.key.new'), keyPath)
  renameSync(join(dir, 'tls.crt.new'), certPath)
  t.ok(await eventually(async () => (await servedFingerprint(proxyPort)) === first.fingerprint), 'renamed-over files are picked up too')
})

t.test('a broken new certificate keeps the one in force and logs why', async (t) => {
  const before = await servedFingerprint(proxyPort)
  writeFileSync(certPath, 'not a certificate\n')
  t.ok(await eventually(async () => gw.logs.some((l) => String(l.msg).startsWith('TLS certificate not reloaded'))), 'logged')
  const line = gw.logs.find((l) => String(l.msg).startsWith('TLS certificate not reloaded'))!
  t.match(line, { level: 'error', tls: 'serve.proxy.tls', problems: [`serve.proxy.tls.cert.path: ${certPath} is not a PEM file`] })
  t.equal(await servedFingerprint(proxyPort), before, 'the previous certificate is still served')
  t.equal((await get(`${proxy}/tls/still`)).status, 200)

  // A certificate whose key does not match is refused the same way.
  writeFileSync(certPath, second.cert)
  t.ok(await eventually(async () => gw.logs.some((l) => Array.isArray(l.problems) && /cannot be used together/.test(String(l.problems[0])))))
  t.equal(await servedFingerprint(proxyPort), before)
})

t.test('gateway TLS problems are reported at start, each naming its key', async (t) => {
  const err = await startGateway({}, {
    serve: {
      proxy: { host: '127.0.0.1', port: 0, tls: { cert: { path: join(dir, 'missing.pem') } } },
      api: { host: '127.0.0.1', port: 0 },
    },
  }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(err instanceof ConfigError)
  t.same((err as ConfigError).problems, [
    `serve.proxy.tls.cert.path: cannot read ${join(dir, 'missing.pem')} (no such file)`,
    'serve.proxy.tls.key: missing; TLS needs both cert and key (set serve.proxy.tls.key.path or serve.proxy.tls.key.base64)',
  ])
})

t.test('token server: serve.tls applies to both APIs; serve.admin.tls.enabled: false keeps admin on http', async (t) => {
  const tls = { cert: { path: certPath }, key: { path: keyPath } }
  writeFileSync(certPath, first.cert)
  writeFileSync(keyPath, first.key)
  const both = await startTokenServer({ config: { serve: { tls }, urls: { self: { issuer: 'https://127.0.0.1/' } } } })
  t.teardown(() => both.close())
  t.equal((await get(`${both.publicUrl.replace('http:', 'https:')}/.well-known/openid-configuration`)).status, 200)
  t.equal((await get(`${both.adminUrl.replace('http:', 'https:')}/health/ready`)).status, 200)

  const mixed = await startTokenServer({ config: { serve: { tls, admin: { tls: { enabled: false } } } } })
  t.teardown(() => mixed.close())
  t.equal((await get(`${mixed.publicUrl.replace('http:', 'https:')}/health/alive`)).status, 200)
  const admin = await request(`${mixed.adminUrl}/health/alive`)
  t.equal(admin.statusCode, 200, 'admin over plain http')
  await admin.body.dump()
})

t.test('token server: TLS problems are start-up problems; allow_termination_from is named as unsupported', async (t) => {
  const cfg = (serve: Record<string, unknown>) =>
    buildConfigFor(TOKEN_SERVER_CONFIG, { serve, secrets: { system: ['0123456789abcdef'] }, urls: { self: { issuer: 'https://auth.test/' } } }, {})
  t.same(startupProblems(cfg({ tls: { cert: { base64: 'bm90IHBlbQ' } } }), { dev: false }), [
    'serve.tls.cert.base64: not the base64 of a PEM document',
    'serve.tls.key: missing; TLS needs both cert and key (set serve.tls.key.path or serve.tls.key.base64)',
  ])
  const ownKey = { tls: { key: { path: keyPath } } }
  t.same(startupProblems(cfg({ public: ownKey, admin: ownKey, tls: { cert: { path: certPath } } }), { dev: false }), [], 'per-API keys over the shared cert')
  t.same(startupProblems(cfg({ public: ownKey, tls: { cert: { path: certPath } } }), { dev: false }), [
    'serve.tls.key: missing; TLS needs both cert and key (set serve.tls.key.path or serve.tls.key.base64)',
  ], 'the admin API has only the shared, incomplete block')
  t.throws(() => cfg({ tls: { allow_termination_from: ['10.0.0.0/8'] } }), errorWith({
    problems: ['serve.tls.allow_termination_from: Hydra key not supported by the Gatehouse token server; remove it'],
  }))
})
