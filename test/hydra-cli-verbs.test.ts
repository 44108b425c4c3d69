/**
 * The Hydra verbs added to the CLI: update/import client, create/get/import/delete jwk, the
 * common flags -H/--http-header, --skip-tls-verify and --format yaml|jsonpath|jsonpointer, and
 * Hydra's aliases. The built binary runs against a real token server started in this process.
 */
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import t, { type Test } from 'tap'
import { parse as parseYaml } from 'yaml'
import { BIN, clean, ROOT, run } from './helpers/cli.js'
import { selfSignedCert } from './helpers/certs.js'
import { call, startTokenServer } from './helpers/token-server.js'

const s = await startTokenServer()
t.teardown(() => s.close())
const ADMIN = ['--endpoint', s.adminUrl]
const ENV = clean({ TZ: 'UTC' })

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-verbs-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
function file(name: string, content: string | Buffer): string {
  const p = join(dir, name)
  writeFileSync(p, content)
  return p
}

async function ok(t: Test, args: readonly string[]): Promise<string> {
  const r = await run(args, { env: ENV })
  t.equal(r.code, 0, `gatehouse ${args.join(' ')} → exit 0 (stderr: ${r.stderr})`)
  t.equal(r.stderr, '', 'nothing on stderr')
  return r.stdout
}

const okJson = async (t: Test, args: readonly string[]): Promise<any> => JSON.parse(await ok(t, [...args, '--format', 'json']))

/** Runs the CLI with `input` on stdin. */
function withStdin(args: readonly string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: ENV, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(input)
  })
}

t.test('update client: the flags given become a JSON Patch, every other field is kept', async (t) => {
  await ok(t, ['create', 'client', ...ADMIN, '--id', 'upd', '--secret', 'upd-secret-1', '-g', 'client_credentials', '--scope', 'api', '--name', 'Before', '--owner', 'team-a', '--audience', 'https://a.test'])
  const out = await okJson(t, ['update', 'client', 'upd', ...ADMIN, '--name', 'After', '--scope', 'api,read', '--access-token-strategy', 'jwt', '--metadata', '{"k":1}'])
  t.match(out, { client_id: 'upd', client_name: 'After', scope: 'api read', access_token_strategy: 'jwt', metadata: { k: 1 } })
  t.equal(out.owner, 'team-a', 'not given: kept')
  t.same(out.audience, ['https://a.test'], 'not given: kept')
  t.same(out.grant_types, ['client_credentials'])
  t.notOk('client_secret' in out, 'no secret was sent, none is shown')

  // A new secret is shown once (Hydra echoes what it sent), and it is the one that works now.
  const rotated = await okJson(t, ['update', 'oauth2-client', 'upd', ...ADMIN, '--secret', 'upd-secret-2'])
  t.equal(rotated.client_secret, 'upd-secret-2')
  const tok = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials', client_id: 'upd', client_secret: 'upd-secret-2' }, headers: {} })
  t.equal(tok.status, 401, 'client_secret_basic client: the post form is refused…')
  const basic = await call('POST', `${s.publicUrl}/oauth2/token`, {
    form: { grant_type: 'client_credentials' },
    headers: { authorization: `Basic ${Buffer.from('upd:upd-secret-2').toString('base64')}` },
  })
  t.equal(basic.status, 200, '…and the new secret works with basic auth')

  const none = await run(['update', 'client', 'upd', ...ADMIN], { env: ENV })
  t.equal(none.code, 1)
  t.match(none.stderr, /nothing to change/)
  const missing = await run(['update', 'client', 'no-such', ...ADMIN, '--name', 'x'], { env: ENV })
  t.equal(missing.code, 1)
  t.match(missing.stderr, /could not update the OAuth 2\.0 client "no-such": .*HTTP 404/)
})

t.test('update client --file replaces the whole client (PUT): fields the file leaves out are reset', async (t) => {
  await ok(t, ['create', 'client', ...ADMIN, '--id', 'put', '--secret', 'put-secret-1', '-g', 'client_credentials', '--scope', 'api', '--owner', 'team-a'])
  const f = file('put.json', JSON.stringify({ client_name: 'From file', grant_types: ['client_credentials'], scope: 'read' }))
  const out = await okJson(t, ['update', 'client', 'put', ...ADMIN, '--file', f, '--name', 'ignored'])
  t.match(out, { client_id: 'put', client_name: 'From file', scope: 'read', owner: '' })
  const renamed = file('rename.json', JSON.stringify({ client_id: 'other' }))
  const r = await run(['update', 'client', 'put', ...ADMIN, '--file', renamed], { env: ENV })
  t.equal(r.code, 1)
  t.match(r.stderr, /the file names client "other"/)
})

t.test('create client --file (or stdin with "-"); --id still names it', async (t) => {
  const f = file('create.json', JSON.stringify({ client_id: 'from-file', client_secret: 'file-secret-1', grant_types: ['client_credentials'], scope: 'x' }))
  const a = await okJson(t, ['create', 'client', ...ADMIN, '--file', f, '--scope', 'ignored'])
  t.match(a, { client_id: 'from-file', client_secret: 'file-secret-1', scope: 'x' })
  const b = await withStdin(['create', 'client', ...ADMIN, '--file', '-', '--id', 'from-stdin', '-q'], JSON.stringify({ client_id: 'overridden', scope: 'y' }))
  t.equal(b.code, 0, b.stderr)
  t.equal(b.stdout, 'from-stdin\n')
  t.equal((await okJson(t, ['get', 'client', 'from-stdin', ...ADMIN])).scope, 'y')
})

t.test('import client: files of client lists and stdin; a duplicate fails alone, exit 1', async (t) => {
  const f1 = file('clients-1.json', JSON.stringify([{ client_id: 'imp-1', client_secret: 'imp-secret-1', grant_types: ['client_credentials'] }, { client_id: 'imp-2' }]))
  const f2 = file('clients-2.json', JSON.stringify({ client_id: 'imp-3' }))
  const out = await ok(t, ['import', 'clients', f1, f2, ...ADMIN])
  const lines = out.split('\n')
  t.match(lines[0], /^CLIENT ID\t+CLIENT SECRET\t+GRANT TYPES/)
  t.match(lines[1], /^imp-1\t+imp-secret-1\t+client_credentials\t/)
  t.match(lines[2], /^imp-2\t+\S{20,}\t/, 'a generated secret is shown')
  t.match(lines[3], /^imp-3\t/)

  const piped = await withStdin(['import', 'oauth2-client', ...ADMIN, '-q'], JSON.stringify([{ client_id: 'imp-4' }, { client_id: 'imp-1' }, { client_id: 'imp-5' }]))
  t.equal(piped.code, 1, 'one client existed already')
  t.equal(piped.stdout, 'imp-4\nimp-5\n', 'the others were imported')
  t.match(piped.stderr, /^error: STDIN: could not import an OAuth 2\.0 client: .*"imp-1" already exists.*HTTP 409\)\n$/)

  const bad = await run(['import', 'client', file('bad.json', '[{'), ...ADMIN], { env: ENV })
  t.equal(bad.code, 1)
  t.match(bad.stderr, /could not decode JSON from .*bad\.json/)
  const absent = await run(['import', 'client', join(dir, 'absent.json'), ...ADMIN], { env: ENV })
  t.equal(absent.code, 1)
  t.match(absent.stderr, /could not open file .*absent\.json/)
})

t.test('jwk: create, get (--public), import PEM and JWK files, delete', async (t) => {
  const created = await okJson(t, ['create', 'jwk', 'cli-set', 'kid-1', '--alg', 'ES256', '--use', 'sig', ...ADMIN])
  t.equal(created.set, 'cli-set')
  t.match(created.keys, [{ kid: 'kid-1', alg: 'ES256', use: 'sig', kty: 'EC', set: 'cli-set' }])
  t.ok(created.keys[0].d, 'the private key, as Hydra answers')

  const table = await ok(t, ['create', 'jwks', 'cli-set', 'kid-2', ...ADMIN])
  t.equal(table, 'SET ID\tKEY ID\tALGORITHM\tUSE\t\ncli-set\tkid-2\tRS256\t\tsig\t\n', "Hydra's outputJSONWebKeyCollection, RS256 by default")

  const pub = await okJson(t, ['get', 'jwk', 'cli-set', '--public', ...ADMIN])
  t.same(pub.keys.map((k: any) => k.kid).sort(), ['kid-1', 'kid-2'])
  for (const k of pub.keys) t.notOk('d' in k || 'p' in k, `${k.kid}: public only`)

  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pem = file('rsa.key', privateKey.export({ type: 'pkcs8', format: 'pem' }))
  const der = file('rsa.pub.der', publicKey.export({ type: 'spki', format: 'der' }))
  const jwk = file('k.jwk.json', JSON.stringify({ ...publicKey.export({ format: 'jwk' }), kid: 'from-jwk', alg: 'RS512' }))
  const imported = await okJson(t, ['import', 'jwk', 'imp-set', pem, der, jwk, '--alg', 'RS256', ...ADMIN])
  t.equal(imported.keys.length, 3)
  t.match(imported.keys[0], { kty: 'RSA', alg: 'RS256', use: 'sig', set: 'imp-set' })
  t.ok(imported.keys[0].d, 'the PEM private key kept its private part')
  t.notOk('d' in imported.keys[1], 'the DER public key is public')
  t.match(imported.keys[2], { kid: 'from-jwk', alg: 'RS512' }, 'a key\'s own alg wins over --alg')

  const noAlg = await run(['import', 'jwk', 'imp-set', pem, ...ADMIN], { env: ENV })
  t.equal(noAlg.code, 1)
  t.match(noAlg.stderr, /--alg is required when the imported key does not define "alg"/)
  const junk = await run(['import', 'jwk', 'imp-set', file('junk.txt', 'not a key'), '--alg', 'RS256', ...ADMIN], { env: ENV })
  t.equal(junk.code, 1)
  t.match(junk.stderr, /could not decode a key from .*junk\.txt/)

  const both = await ok(t, ['get', 'jwks', 'cli-set', 'imp-set', ...ADMIN, '-q'])
  t.equal(both.split('\n').filter(Boolean).length, 5, '-q: one key id per line')
  const several = await okJson(t, ['get', 'jwk', 'cli-set', 'imp-set', ...ADMIN])
  t.notOk('set' in several, 'keys of several sets: no top-level set')

  t.equal(await ok(t, ['delete', 'jwk', 'cli-set', 'imp-set', ...ADMIN]), 'ID\t\ncli-set\t\nimp-set\t\n')
  const gone = await run(['get', 'jwk', 'cli-set', ...ADMIN], { env: ENV })
  t.equal(gone.code, 1)
  t.match(gone.stderr, /could not get the JSON Web Key Set "cli-set"/)
})

t.test('--format yaml, jsonpath=…, jsonpointer=…; aliases ls, clients, oauth2-clients', async (t) => {
  await ok(t, ['create', 'client', ...ADMIN, '--id', 'fmt', '--secret', 'fmt-secret-1', '-g', 'client_credentials', '--scope', 'api', '--audience', 'https://a.test'])
  const [yaml, path, pointer, list, aliasGet] = await Promise.all([
    ok(t, ['get', 'client', 'fmt', ...ADMIN, '--format', 'yaml']),
    ok(t, ['get', 'clients', 'fmt', ...ADMIN, '--format', 'jsonpath=audience.0']),
    ok(t, ['get', 'oauth2-clients', 'fmt', ...ADMIN, '--format', 'jsonpointer=/grant_types']),
    ok(t, ['ls', 'oauth2-clients', ...ADMIN, '--format', 'jsonpath=items.#.client_id']),
    ok(t, ['get', 'oauth2-client', 'fmt', ...ADMIN, '-q']),
  ])
  t.match(parseYaml(yaml), { client_id: 'fmt', scope: 'api', audience: ['https://a.test'] })
  t.equal(path, '"https://a.test"\n')
  t.equal(pointer, '[\n  "client_credentials"\n]\n')
  t.ok(JSON.parse(list).includes('fmt'))
  t.equal(aliasGet, 'fmt\n')
  const bad = await run(['get', 'client', 'fmt', ...ADMIN, '--format', 'xml'], { env: ENV })
  t.equal(bad.code, 1)
  t.match(bad.stderr, /--format.*must be one of table, json, json-pretty, yaml/)
})

t.test('-H/--http-header reaches the server: an admin API with API keys', async (t) => {
  const locked = await startTokenServer({ config: { serve: { admin: { auth: { api_keys: ['cli-admin-key-0123456789'] } } } } })
  t.teardown(() => locked.close())
  const endpoint = ['--endpoint', locked.adminUrl]
  const refused = await run(['list', 'clients', ...endpoint], { env: ENV })
  t.equal(refused.code, 1)
  t.match(refused.stderr, /HTTP 401/)
  t.equal(await ok(t, ['list', 'clients', ...endpoint, '-H', 'Authorization: Bearer cli-admin-key-0123456789', '-q']), '\n', 'no clients yet')
  t.equal(await ok(t, ['create', 'client', ...endpoint, '--http-header', 'Authorization: Bearer cli-admin-key-0123456789', '--id', 'h', '-q']), 'h\n')
  const bad = await run(['list', 'clients', ...endpoint, '-H', 'no-colon'], { env: ENV })
  t.equal(bad.code, 1)
  t.match(bad.stderr, /--http-header "no-colon" is not "Name: value"/)
})

t.test('--skip-tls-verify: a self-signed admin API is refused, then accepted with the flag', async (t) => {
  const cert = selfSignedCert()
  const tls = { cert: { base64: cert.cert.toString('base64') }, key: { base64: cert.key.toString('base64') } }
  const secure = await startTokenServer({ config: { serve: { tls }, urls: { self: { issuer: 'https://127.0.0.1/' } } } })
  t.teardown(() => secure.close())
  const endpoint = ['--endpoint', secure.adminUrl.replace('http:', 'https:')]
  const refused = await run(['list', 'clients', ...endpoint], { env: ENV })
  t.equal(refused.code, 1)
  t.match(refused.stderr, /could not reach https:\/\/127\.0\.0\.1:\d+\/ \(.*(SELF_SIGNED|self-signed|certificate).*\)/i)
  t.equal(await ok(t, ['list', 'clients', ...endpoint, '--skip-tls-verify', '-q']), '\n')
})
