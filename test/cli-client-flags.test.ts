/**
 * The client flags of `create client` and `update client` (Hydra's cmd_helper_client.go names):
 * the JSON each sends, seen by a capturing admin API, and what a real token server stores.
 */
import { createServer } from 'node:http'
import t, { type Test } from 'tap'
import { clean, run } from './helpers/cli.js'
import { startTokenServer } from './helpers/token-server.js'

interface Seen {
  readonly method: string
  readonly path: string
  readonly body: unknown
}

/** An admin API that records each request and answers with a client document built from it. */
async function capturingAdmin(t: Test): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    let text = ''
    req.on('data', (d: Buffer) => (text += d.toString()))
    req.on('end', () => {
      const body = JSON.parse(text) as unknown
      seen.push({ method: req.method!, path: req.url!, body })
      const doc = Array.isArray(body) ? { client_id: 'patched' } : { client_id: 'created', ...(body as object) }
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(doc))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, seen }
}

async function ok(t: Test, args: readonly string[]): Promise<string> {
  const r = await run(args, { env: clean({ TZ: 'UTC' }) })
  t.equal(r.code, 0, `gatehouse ${args.join(' ')} → exit 0 (stderr: ${r.stderr})`)
  t.equal(r.stderr, '')
  return r.stdout
}

/** The authorization code and logout flags, each given once (lists also repeated and comma-separated). */
const OIDC_FLAGS = [
  '--redirect-uri', 'https://app.test/cb', '--redirect-uri', 'https://app.test/cb2,http://127.0.0.1:4446/callback',
  '--response-type', 'code', '--response-type', 'id_token',
  '--grant-type', 'authorization_code,refresh_token',
  '--post-logout-callback', 'https://app.test/bye',
  '--frontchannel-logout-callback', 'https://app.test/fc',
  '--backchannel-logout-callback', 'https://app.test/bc',
  '--frontchannel-logout-session-required',
  '--backchannel-logout-session-required',
  '--token-endpoint-auth-method', 'none',
  '--subject-type', 'public',
  '--scope', 'openid,offline',
  '--skip-consent',
  '--skip-logout-consent',
]

const OIDC_FIELDS = {
  redirect_uris: ['https://app.test/cb', 'https://app.test/cb2', 'http://127.0.0.1:4446/callback'],
  response_types: ['code', 'id_token'],
  grant_types: ['authorization_code', 'refresh_token'],
  post_logout_redirect_uris: ['https://app.test/bye'],
  frontchannel_logout_uri: 'https://app.test/fc',
  backchannel_logout_uri: 'https://app.test/bc',
  frontchannel_logout_session_required: true,
  backchannel_logout_session_required: true,
  token_endpoint_auth_method: 'none',
  subject_type: 'public',
  scope: 'openid offline',
  skip_consent: true,
  skip_logout_consent: true,
}

t.test('create client: each flag becomes its client field; nothing else is sent but Hydra\'s two defaults', async (t) => {
  const admin = await capturingAdmin(t)
  await ok(t, ['create', 'oauth2-client', '--endpoint', admin.url, ...OIDC_FLAGS, '-q'])
  t.same(admin.seen[0], { method: 'POST', path: '/admin/clients', body: OIDC_FIELDS })
  await ok(t, ['create', 'client', '--endpoint', admin.url, '-q'])
  t.same(admin.seen[1]!.body, { grant_types: ['authorization_code'], response_types: ['code'] }, "Hydra's CLI defaults")
})

t.test('update client: one JSON Patch operation per flag given, and only those', async (t) => {
  const admin = await capturingAdmin(t)
  await ok(t, ['update', 'oauth2-client', 'web', '--endpoint', admin.url, ...OIDC_FLAGS, '-q'])
  t.equal(admin.seen[0]!.method, 'PATCH')
  t.equal(admin.seen[0]!.path, '/admin/clients/web')
  const byPath = (a: { path: string }, b: { path: string }): number => a.path.localeCompare(b.path)
  const ops = (admin.seen[0]!.body as { path: string }[]).slice().sort(byPath)
  t.same(ops, Object.entries(OIDC_FIELDS).map(([k, value]) => ({ op: 'add', path: `/${k}`, value })).sort(byPath))
  await ok(t, ['update', 'client', 'web', '--endpoint', admin.url, '--post-logout-callback', 'https://app.test/later', '-q'])
  t.same(admin.seen[1]!.body, [{ op: 'add', path: '/post_logout_redirect_uris', value: ['https://app.test/later'] }])
})

t.test('the token server stores the fields, and an update changes only the flags given', async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  const ADMIN = ['--endpoint', s.adminUrl]
  const created = JSON.parse(await ok(t, ['create', 'client', ...ADMIN, '--id', 'oidc-web', ...OIDC_FLAGS, '--format', 'json']))
  const stored = JSON.parse(await ok(t, ['get', 'client', 'oidc-web', ...ADMIN, '--format', 'json']))
  for (const [k, v] of Object.entries(OIDC_FIELDS)) {
    t.same(created[k], v, `created: ${k}`)
    t.same(stored[k], v, `stored: ${k}`)
  }

  await ok(t, [
    'update', 'client', 'oidc-web', ...ADMIN, '--redirect-uri', 'https://app.test/new-cb', '--backchannel-logout-callback', 'https://new.test/bc',
    '--token-endpoint-auth-method', 'client_secret_post', '-q',
  ])
  const updated = JSON.parse(await ok(t, ['get', 'client', 'oidc-web', ...ADMIN, '--format', 'json']))
  t.same(updated.redirect_uris, ['https://app.test/new-cb'])
  t.equal(updated.backchannel_logout_uri, 'https://new.test/bc')
  t.equal(updated.token_endpoint_auth_method, 'client_secret_post')
  t.same(updated.post_logout_redirect_uris, OIDC_FIELDS.post_logout_redirect_uris, 'untouched')
  t.equal(updated.frontchannel_logout_uri, OIDC_FIELDS.frontchannel_logout_uri, 'untouched')
  t.same(updated.response_types, OIDC_FIELDS.response_types, 'untouched')
})

t.test('--help of create and update client lists the flags under Hydra\'s names', async (t) => {
  const flags = [
    '--redirect-uri', '--response-type', '--grant-type', '--post-logout-callback', '--frontchannel-logout-callback', '--backchannel-logout-callback',
    '--frontchannel-logout-session-required', '--backchannel-logout-session-required', '--token-endpoint-auth-method', '--subject-type',
    '--sector-identifier-uri', '--skip-consent', '--skip-logout-consent', '--request-object-signing-alg', '--access-token-strategy',
  ]
  for (const verb of ['create', 'update']) {
    const r = await run([verb, 'client', '--help'])
    t.equal(r.code, 0)
    for (const f of flags) t.match(r.stdout, f, `${verb} client ${f}`)
  }
})
