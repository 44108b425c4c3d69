/**
 * Hydra's CLI verbs (`gatehouse create client`, `perform client-credentials`, `introspect token`…)
 * run as the built binary in a child process against a real token server in this process.
 */
import { createServer } from 'node:net'
import t, { type Test } from 'tap'
import { clean, run, type Run } from './helpers/cli.js'
import { startTokenServer } from './helpers/token-server.js'

const s = await startTokenServer()
t.teardown(() => s.close())
const ADMIN = ['--endpoint', s.adminUrl]
const PUBLIC = ['--endpoint', `${s.publicUrl}/`]

/** Runs a verb that must succeed quietly on stderr; returns its stdout. */
async function ok(t: Test, args: readonly string[], env: NodeJS.ProcessEnv = clean({ TZ: 'UTC' })): Promise<string> {
  // TZ: tables print times in the local zone, as Hydra's do.
  const r = await run(args, { env })
  t.equal(r.code, 0, `gatehouse ${args.join(' ')} → exit 0 (stderr: ${r.stderr})`)
  t.equal(r.stderr, '', 'nothing on stderr')
  return r.stdout
}

async function okJson(t: Test, args: readonly string[]): Promise<any> {
  return JSON.parse(await ok(t, [...args, '--format', 'json']))
}

/** A client allowed the client credentials grant with scopes a b c api. */
async function newClient(t: Test, id: string, secret = `${id}-secret`): Promise<{ id: string; secret: string }> {
  await ok(t, ['create', 'client', ...ADMIN, '--id', id, '--secret', secret, '-g', 'client_credentials', '--scope', 'api,a,b,c', '-q'])
  return { id, secret }
}

async function token(t: Test, c: { id: string; secret: string }, ...extra: string[]): Promise<string> {
  const out = await ok(t, ['perform', 'client-credentials', ...PUBLIC, '--client-id', c.id, '--client-secret', c.secret, '-q', ...extra])
  return out.trim()
}

async function active(t: Test, tok: string, ...extra: string[]): Promise<boolean> {
  return (await okJson(t, ['introspect', 'token', tok, ...ADMIN, ...extra])).active
}

function noStack(t: Test, r: Run): void {
  t.notMatch(r.stderr, /\n\s+at .*:\d+/, 'no stack trace')
  t.equal(r.stderr.trim().split('\n').length, 1, `one line on stderr: ${r.stderr}`)
}

t.test('--help on every verb, with a description and the common flags', async (t) => {
  const verbs = [
    ['create', 'client'], ['get', 'client'], ['list', 'clients'], ['delete', 'client'], ['delete', 'access-tokens'],
    ['perform', 'client-credentials'], ['introspect', 'token'], ['revoke', 'token'],
    ['update', 'client'], ['import', 'client'], ['create', 'jwk'], ['get', 'jwk'], ['import', 'jwk'], ['delete', 'jwk'],
  ]
  const runs = await Promise.all(verbs.map((v) => run([...v, '--help'])))
  for (const [i, r] of runs.entries()) {
    t.equal(r.code, 0, `${verbs[i]!.join(' ')} --help`)
    t.match(r.stdout, new RegExp(`Usage: gatehouse ${verbs[i]![0]} ${verbs[i]![1]}`))
    t.match(r.stdout, /-e, --endpoint <url>/)
    t.match(r.stdout, /--format <format>/)
    t.match(r.stdout, /-q, --quiet/)
    t.match(r.stdout, /-H, --http-header <header>/)
    t.match(r.stdout, /--skip-tls-verify/)
  }
  t.match(runs[0]!.stdout, /POST \/admin\/clients/)
  t.match(runs[5]!.stdout, /OAUTH2_CLIENT_SECRET/)
})

t.test('create client --format json prints the API document, the secret included once', async (t) => {
  const c = await okJson(t, [
    'create', 'client', ...ADMIN, '--id', 'cli-json', '--secret', 'json-secret-1', '--grant-type', 'client_credentials',
    '--scope', 'api', '--audience', 'https://api.test', '--name', 'CLI json', '--owner', 'team-a',
    '--token-endpoint-auth-method', 'client_secret_post', '--metadata', '{"team":"payments"}', '-c', 'https://app.test/cb',
  ])
  t.equal(c.client_id, 'cli-json')
  t.equal(c.client_secret, 'json-secret-1')
  t.same(c.grant_types, ['client_credentials'])
  t.equal(c.scope, 'api')
  t.same(c.audience, ['https://api.test'])
  t.equal(c.client_name, 'CLI json')
  t.equal(c.owner, 'team-a')
  t.equal(c.token_endpoint_auth_method, 'client_secret_post')
  t.same(c.metadata, { team: 'payments' })
  t.same(c.redirect_uris, ['https://app.test/cb'])
  const again = await okJson(t, ['get', 'client', 'cli-json', ...ADMIN])
  t.equal(again.client_name, 'CLI json')
  t.notOk('client_secret' in again, 'the secret is not shown again')
})

t.test('create client in table format: Hydra\'s rows, tab-aligned as Go\'s tabwriter; -q prints only the generated id', async (t) => {
  const out = await ok(t, ['create', 'client', ...ADMIN, '--id', 'cli-table', '--secret', 'table-secret-1', '-g', 'client_credentials', '--scope', 'api', '--name', 'Table'])
  // Hydra's outputOAuth2Client: cells padded with tabs to the next multiple of 8 past the widest
  // cell + 1 (16 for the headers, 24 for the values), every line ending in its padding.
  t.equal(
    out,
    'CLIENT ID\tcli-table\t\t\n' +
      'CLIENT SECRET\ttable-secret-1\t\t\n' +
      'GRANT TYPES\tclient_credentials\t\n' +
      'RESPONSE TYPES\tcode\t\t\t\n' +
      'SCOPE\t\tapi\t\t\t\n' +
      'AUDIENCE\t\t\t\t\n' +
      'REDIRECT URIS\t\t\t\t\n',
  )
  const fields = Object.fromEntries(out.split('\n').filter((l) => l !== '').map((l) => l.split(/\t+/).slice(0, 2)))
  t.equal(fields['CLIENT SECRET'], 'table-secret-1', 'awk -F"\\t+" style parsing works')
  const quiet = await ok(t, ['create', 'client', ...ADMIN, '-q'])
  t.match(quiet, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/)
})

t.test('list flags repeat and take comma-separated values', async (t) => {
  const c = await okJson(t, [
    'create', 'client', ...ADMIN, '--id', 'cli-lists', '--secret', 'lists-secret', '--scope', 'a,b', '--scope', 'c',
    '-g', 'client_credentials,refresh_token', '--audience', 'https://x.test,https://y.test', '--audience', 'https://z.test',
  ])
  t.equal(c.scope, 'a b c')
  t.same(c.grant_types, ['client_credentials', 'refresh_token'])
  t.same(c.audience, ['https://x.test', 'https://y.test', 'https://z.test'])
  const tok = await token(t, { id: 'cli-lists', secret: 'lists-secret' }, '--scope', 'a,b', '--scope', 'c', '--audience', 'https://x.test,https://z.test')
  const [info, granted, notGranted] = await Promise.all([
    okJson(t, ['introspect', 'token', tok, ...ADMIN]),
    active(t, tok, '--scope', 'a,c'),
    active(t, tok, '--scope', 'a', '--scope', 'nope'),
  ])
  t.equal(info.scope, 'a b c')
  t.same(info.aud, ['https://x.test', 'https://z.test'])
  t.equal(granted, true, 'granted scopes check out')
  t.equal(notGranted, false, 'a scope that was not granted → inactive')
})

t.test('the blog flow: create → perform client-credentials → introspect; a tampered token is inactive', async (t) => {
  const c = await okJson(t, ['create', 'client', ...ADMIN, '--secret', 'blog-secret-1', '--grant-type', 'client_credentials', '--scope', 'api'])
  const tok = await okJson(t, ['perform', 'client-credentials', ...PUBLIC, '--client-id', c.client_id, '--client-secret', 'blog-secret-1', '--scope', 'api'])
  t.match(tok.access_token, /^ory_at_[\w-]+\.[\w-]+$/)
  t.equal(tok.token_type, 'bearer')
  t.equal(tok.scope, 'api')
  t.type(tok.expires_in, 'number')
  t.ok(Math.abs(Date.parse(tok.expiry) - Date.now() - tok.expires_in * 1000) < 60_000, 'expiry is expires_in from now')

  // A character in the middle of the random part: every bit of it counts, unlike the last one's.
  const i = 12
  const tampered = tok.access_token.slice(0, i) + (tok.access_token[i] === 'a' ? 'b' : 'a') + tok.access_token.slice(i + 1)
  // Independent calls run side by side to keep the test short.
  const [info, table, tamperedInfo, tamperedTable, perf] = await Promise.all([
    okJson(t, ['introspect', 'token', tok.access_token, ...ADMIN]),
    ok(t, ['introspect', 'token', tok.access_token, ...ADMIN]),
    okJson(t, ['introspect', 'token', tampered, ...ADMIN]),
    ok(t, ['introspect', 'token', tampered, ...ADMIN]),
    ok(t, ['perform', 'client-credentials', ...PUBLIC, '--client-id', c.client_id, '--client-secret', 'blog-secret-1']),
  ])
  t.match(info, { active: true, client_id: c.client_id, sub: c.client_id, scope: 'api', token_use: 'access_token' })
  // The CLI computes expiry as its own clock + expires_in (as Go's oauth2.Token does), the server
  // its exp from its clock: on a busy machine the response can arrive a few seconds later.
  const skew = Date.parse(tok.expiry) / 1000 - info.exp
  t.ok(skew >= -1 && skew <= 10, `expiry is the token's exp, give or take the response's travel (${skew} s)`)
  t.match(table, /^ACTIVE\t+true\t+$/m)
  t.match(table, new RegExp(`^CLIENT ID\\t+${c.client_id}\\t+$`, 'm'))
  t.match(table, /^SCOPE\t+api\t+$/m)
  t.match(table, /^TOKEN USE\t+access_token\t+$/m)
  // Hydra prints the expiry as Go's time.Time.String() in the local zone (UTC here).
  t.match(table, new RegExp(`^EXPIRY\\t+${goUtc(info.exp).replace('+', '\\+')}\\t+$`, 'm'))
  t.same(tamperedInfo, { active: false })
  t.match(tamperedTable, /^ACTIVE\t+false\t+$/m)
  t.match(tamperedTable, /^EXPIRY\t+1970-01-01 00:00:00 \+0000 UTC\t+$/m, 'no exp: the epoch, as Hydra prints it')
  // Hydra's outputOAuth2Token rows.
  t.match(perf, /^ACCESS TOKEN\tory_at_\S+\t+\nREFRESH TOKEN\t<empty>\t+\nID TOKEN\t+<empty>\t+\nEXPIRY\t+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC\t+\n$/)
})

t.test('get: one client as a table, several as a JSON list', async (t) => {
  await Promise.all([newClient(t, 'get-one'), newClient(t, 'get-two')])
  const [one, both, quiet] = await Promise.all([
    ok(t, ['get', 'client', 'get-one', ...ADMIN]),
    okJson(t, ['get', 'client', 'get-one', 'get-two', ...ADMIN]),
    ok(t, ['get', 'client', 'get-one', 'get-two', ...ADMIN, '-q']),
  ])
  t.match(one, /^CLIENT ID\t+get-one\t+$/m)
  t.match(one, /^SCOPE\t+api a b c\t+$/m)
  t.notMatch(one, /get-one-secret/, 'no secret')
  t.same(both.map((c: { client_id: string }) => c.client_id), ['get-one', 'get-two'])
  t.equal(quiet, 'get-one\nget-two\n')
})

t.test('list clients: pages follow the next page token from the Link header', async (t) => {
  // A server of its own, so the other tests' clients do not change the pages.
  const own = await startTokenServer()
  t.teardown(() => own.close())
  const endpoint = ['--endpoint', own.adminUrl]
  await Promise.all(['page-a', 'page-b', 'page-c'].map((id) => ok(t, ['create', 'client', ...endpoint, '--id', id, '-q'])))

  const [first, table] = await Promise.all([
    okJson(t, ['list', 'clients', ...endpoint, '--page-size', '2']),
    ok(t, ['list', 'clients', ...endpoint, '--page-size', '2']),
  ])
  t.same(first.items.map((c: { client_id: string }) => c.client_id), ['page-a', 'page-b'])
  t.equal(first.is_last_page, false)
  t.match(first.next_page_token, /^\S+$/)
  const [second, quiet] = await Promise.all([
    okJson(t, ['list', 'clients', ...endpoint, '--page-size', '2', '--page-token', first.next_page_token]),
    ok(t, ['list', 'clients', ...endpoint, '--page-token', first.next_page_token, '-q']),
  ])
  t.same(second.items.map((c: { client_id: string }) => c.client_id), ['page-c'])
  t.equal(second.next_page_token, '')
  t.equal(second.is_last_page, true)
  t.equal(quiet, 'page-c\n')

  const lines = table.split('\n')
  // Hydra's columns; cmdx's PaginatedList adds an empty row and the page rows, as tabwriter lays them out.
  t.equal(lines[0], 'CLIENT ID\tCLIENT SECRET\tGRANT TYPES\t\tRESPONSE TYPES\tSCOPE\t\t\t\tAUDIENCE\tREDIRECT URIS\t')
  t.equal(lines[1], 'page-a\t\t\t\tauthorization_code\tcode\t\toffline_access offline openid\t\t\t\t\t')
  t.match(lines[2], /^page-b\t/)
  t.equal(lines[3], '\t\t')
  t.equal(lines[4], `NEXT PAGE TOKEN\t${first.next_page_token}\t`)
  // The page token is the widest cell of that column block, so "false" is padded to its tab stop.
  t.equal(lines[5], `IS LAST PAGE\tfalse${'\t'.repeat(Math.ceil((Math.ceil((first.next_page_token.length + 1) / 8) * 8 - 5) / 8))}`)
})

t.test('delete client prints the deleted ids; the client is gone', async (t) => {
  await Promise.all(['del-one', 'del-two', 'del-three', 'del-four'].map((id) => newClient(t, id)))
  t.equal(await ok(t, ['delete', 'client', 'del-one', ...ADMIN]), 'ID\tdel-one\t\n')
  const gone = await run(['get', 'client', 'del-one', ...ADMIN])
  t.equal(gone.code, 1)
  t.match(gone.stderr, /does not exist/)

  t.same(await okJson(t, ['delete', 'client', 'del-two', 'del-three', ...ADMIN]), ['del-two', 'del-three'])

  // Like Hydra: an unknown id is reported, the others are still deleted, the exit code says it failed.
  const mixed = await run(['delete', 'client', 'del-unknown', 'del-four', ...ADMIN, '-q'])
  t.equal(mixed.code, 1)
  t.equal(mixed.stdout, 'del-four\n')
  t.match(mixed.stderr, /could not delete the OAuth 2.0 client "del-unknown".*does not exist.*HTTP 404/)
})

t.test('delete access-tokens: the client\'s tokens are inactive afterwards', async (t) => {
  const c = await newClient(t, 'tokens-client')
  const tok = await token(t, c)
  t.equal(await active(t, tok), true)
  t.equal(await ok(t, ['delete', 'access-tokens', 'tokens-client', ...ADMIN]), 'ID\ttokens-client\t\n')
  t.equal(await active(t, tok), false)
  t.equal((await ok(t, ['get', 'client', 'tokens-client', ...ADMIN, '-q'])).trim(), 'tokens-client', 'the client itself is kept')
})

t.test('revoke token: as the client (flags or OAUTH2_CLIENT_* env); wrong secret and missing credentials fail', async (t) => {
  const c = await newClient(t, 'revoke-client')
  const [tok, tok2, tok3] = await Promise.all([token(t, c), token(t, c), token(t, c)])
  const out = await ok(t, ['revoke', 'token', tok, ...PUBLIC, '--client-id', c.id, '--client-secret', c.secret])
  t.equal(out, `ID\t${tok}\t\n`)
  t.equal(await active(t, tok), false)

  await ok(t, ['revoke', 'token', tok2, ...PUBLIC, '-q'], clean({ OAUTH2_CLIENT_ID: c.id, OAUTH2_CLIENT_SECRET: c.secret }))
  t.equal(await active(t, tok2), false)

  const [wrong, missing] = await Promise.all([
    run(['revoke', 'token', tok3, ...PUBLIC, '--client-id', c.id, '--client-secret', 'not-the-secret']),
    run(['revoke', 'token', tok3, ...PUBLIC]),
  ])
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /could not revoke the token: invalid_client: .*HTTP 401/)
  noStack(t, wrong)
  t.equal(await active(t, tok3), true, 'still active')
  t.equal(missing.code, 1)
  t.match(missing.stderr, /--client-id and --client-secret.*OAUTH2_CLIENT_ID/)
})

t.test('errors: the server\'s error on stderr, exit 1, no stack trace', async (t) => {
  const c = await newClient(t, 'errors-client')
  const [unknown, badSecret, badScope, badGrant, badMetadata] = await Promise.all([
    run(['get', 'client', 'no-such-client', ...ADMIN]),
    run(['perform', 'client-credentials', ...PUBLIC, '--client-id', c.id, '--client-secret', 'wrong-secret']),
    run(['perform', 'client-credentials', ...PUBLIC, '--client-id', c.id, '--client-secret', c.secret, '--scope', 'admin']),
    run(['create', 'client', ...ADMIN, '-g', 'password']),
    run(['create', 'client', ...ADMIN, '--metadata', '{nope']),
  ])
  t.equal(unknown.code, 1)
  t.equal(unknown.stdout, '')
  t.match(unknown.stderr, /^error: could not get the OAuth 2.0 client "no-such-client": .*The OAuth 2.0 client "no-such-client" does not exist\. \(HTTP 404\)\n$/)
  noStack(t, unknown)

  t.equal(badSecret.code, 1)
  t.match(badSecret.stderr, /could not get an access token: invalid_client: Client authentication failed/)
  noStack(t, badSecret)

  t.equal(badScope.code, 1)
  t.match(badScope.stderr, /invalid_scope: The OAuth 2.0 Client is not allowed to request scope 'admin'/)

  t.equal(badGrant.code, 1)
  t.match(badGrant.stderr, /could not create the OAuth 2.0 client: invalid_client_metadata: The value of one of the Client Metadata fields is invalid .* grant_types: 'password'/)

  t.equal(badMetadata.code, 1)
  t.match(badMetadata.stderr, /--metadata is not valid JSON/)
})

t.test('endpoint: unreachable → one line naming it; ORY_SDK_URL and a trailing slash work', async (t) => {
  const [port] = await Promise.all([freePort(), newClient(t, 'endpoint-client')])
  const down = await run(['get', 'client', 'x', '--endpoint', `http://127.0.0.1:${port}`])
  t.equal(down.code, 1)
  t.match(down.stderr, new RegExp(`could not reach http://127\\.0\\.0\\.1:${port}/ \\(ECONNREFUSED\\)`))
  noStack(t, down)

  const viaEnv = await ok(t, ['get', 'client', 'endpoint-client', '-q'], clean({ ORY_SDK_URL: s.adminUrl }))
  t.equal(viaEnv, 'endpoint-client\n')
  t.equal(await ok(t, ['get', 'client', 'endpoint-client', '-q', '--endpoint', `${s.adminUrl}/`]), 'endpoint-client\n')

  const notUrl = await run(['get', 'client', 'x', '--endpoint', 'localhost-4445'])
  t.equal(notUrl.code, 1)
  t.match(notUrl.stderr, /--endpoint "localhost-4445" is not a URL/)
})

/** Go's time.Time.String() of a Unix time in UTC, the zone the tests run in. */
function goUtc(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`
}

/** A port nothing listens on: bound by the OS, then released. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}
