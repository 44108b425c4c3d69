import t from 'tap'
import { basic, call, forEachStore } from './helpers/token-server.js'
import { AUTH_METHODS, GRANT_TYPES } from '../src/token-server/client.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

forEachStore(t, 'POST /admin/clients: 201, Location, generated id and secret shown once, Hydra defaults', async (t, s) => {
  const r = await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_name: 'svc' } })
  t.equal(r.status, 201)
  t.match(r.body.client_id, UUID)
  t.equal(r.headers.location, `${s.adminUrl}/admin/clients/${r.body.client_id}`)
  t.type(r.body.client_secret, 'string')
  t.ok(r.body.client_secret.length >= 26, 'a generated secret is long')
  t.equal(r.body.grant_types, null, 'unset, as Hydra answers (fosite reads it as authorization_code)')
  t.equal(r.body.response_types, null)
  t.equal(r.body.token_endpoint_auth_method, 'client_secret_basic')
  t.equal(r.body.scope, 'offline_access offline openid')
  const empty = await call('POST', `${s.adminUrl}/admin/clients`, { json: { scope: '' } })
  t.equal(empty.body.scope, 'offline_access offline openid', 'an empty scope gets the default too, as in Hydra')
  const cors = await call('POST', `${s.adminUrl}/admin/clients`, { json: { allowed_cors_origins: ['https://app.test'], redirect_uris: ['https://app.test/cb'] } })
  t.equal(cors.status, 201)
  t.equal(r.body.audience, null)
  t.notOk('metadata' in r.body, 'unset metadata is left out of the answer, as in Hydra')
  t.equal(r.body.client_secret_expires_at, 0)
  t.match(r.body.created_at, /^\d{4}-\d\d-\d\dT/)
  const again = await call('GET', `${s.adminUrl}/admin/clients/${r.body.client_id}`)
  t.equal(again.status, 200)
  t.equal(again.body.client_name, 'svc')
  t.notOk('client_secret' in again.body, 'the secret is never shown again')
})

forEachStore(t, 'POST /admin/clients: a given id and secret are used; a taken id is 409', async (t, s) => {
  const body = { client_id: 'my-svc', client_secret: 'secret-1', grant_types: ['client_credentials'], scope: 'api', audience: ['https://api.test'] }
  const r = await call('POST', `${s.adminUrl}/admin/clients`, { json: body })
  t.equal(r.status, 201)
  t.equal(r.body.client_id, 'my-svc')
  t.equal(r.body.client_secret, 'secret-1')
  const tok = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('my-svc', 'secret-1') })
  t.equal(tok.status, 200, 'the given secret authenticates')
  const dup = await call('POST', `${s.adminUrl}/admin/clients`, { json: body })
  t.equal(dup.status, 409)
  t.type(dup.body.error, 'string')
})

/** Hydra's `error_description` for a refused client: client/error.go's description, then the hint (fosite turns " into '). */
const METADATA = "The value of one of the Client Metadata fields is invalid and the server has rejected this request. Note that an Authorization Server MAY choose to substitute a valid value for any requested parameter of a Client's Metadata."
const REDIRECT = 'The value of one or more redirect_uris is invalid.'

forEachStore(t, 'POST /admin/clients: invalid metadata → 400 with Hydra\'s error and description, naming the field', async (t, s) => {
  const cases: [unknown, string, string][] = [
    [{ client_secret: 'short' }, METADATA, 'Field client_secret must contain a secret that is at least 6 characters long.'],
    [{ grant_types: ['password'] }, METADATA, `grant_types: 'password' is not a supported grant type (supported: ${GRANT_TYPES.join(', ')})`],
    [{ token_endpoint_auth_method: 'client_secret_jwt' }, METADATA, `token_endpoint_auth_method: 'client_secret_jwt' is not supported (supported: ${AUTH_METHODS.join(', ')})`],
    [{ scope: 42 }, METADATA, 'scope must be a string'],
    [{ audience: 'x' }, METADATA, 'audience must be a list of strings'],
    [{ metadata: [1] }, METADATA, 'metadata must be a JSON object'],
    [{ client_credentials_grant_access_token_lifespan: 'soon' }, METADATA, `client_credentials_grant_access_token_lifespan must be a positive duration such as '1h' or '30m'`],
    [{ access_token_strategy: 'magic' }, METADATA, `access_token_strategy must be 'opaque' or 'jwt'`],
    [{ token_endpoint_auth_method: 'none', client_secret: 'secret-1' }, METADATA, `a client with token_endpoint_auth_method 'none' must not have a client_secret`],
    [[], METADATA, 'the client must be a JSON object'],
    [{ userinfo_signed_response_alg: 'HS256' }, METADATA, "Field userinfo_signed_response_alg can either be 'none' or 'RS256'."],
    [{ redirect_uris: ['/relative'] }, REDIRECT, 'Unable to parse redirect URL: /relative'],
    [{ redirect_uris: ['https://app.test/cb#frag'] }, REDIRECT, 'Redirect URIs must not contain fragments (#).'],
    [{ allowed_cors_origins: ['https://app.test/path'] }, METADATA, 'Origin URL https://app.test/path must have an empty path, query, and fragment but one of the parts is not empty.'],
    [{ allowed_cors_origins: ['https://app.test?x=1'] }, METADATA, 'Origin URL https://app.test?x=1 must have an empty path, query, and fragment but one of the parts is not empty.'],
    [{ allowed_cors_origins: ['ftp://app.test'] }, METADATA, 'Origin URL ftp://app.test must use https:// or http:// as HTTP scheme.'],
    [{ allowed_cors_origins: ['https://u:p@app.test'] }, METADATA, 'Origin URL https://u:p@app.test has HTTP user and/or password set which is not allowed.'],
    [{ allowed_cors_origins: ['not a url'] }, METADATA, 'Origin URL not a url from allowed_cors_origins could not be parsed.'],
    [{ tos_uri: "javascript:alert('XSS')" }, METADATA, "javascript:alert('XSS') must use https:// or http:// as HTTP scheme for field tos_uri."],
    [{ logo_uri: 'no scheme' }, METADATA, 'Field logo_uri must be a valid URI.'],
    [{ request_uris: ['https://app.test/r#x'] }, METADATA, `request_uris: 'https://app.test/r#x' must be an absolute URL without a fragment`],
  ]
  for (const [body, description, hint] of cases) {
    const r = await call('POST', `${s.adminUrl}/admin/clients`, { json: body })
    t.equal(r.status, 400, JSON.stringify(body))
    t.equal(r.body.error, description === REDIRECT ? 'invalid_redirect_uri' : 'invalid_client_metadata', JSON.stringify(body))
    t.equal(r.body.error_description, `${description} ${hint}`, JSON.stringify(body))
  }
  const good = { client_secret: 'secret-1', allowed_cors_origins: ['https://app.test/', 'http://127.0.0.1:3000'], tos_uri: 'https://app.test/tos', client_uri: 'http://app.test' }
  t.equal((await call('POST', `${s.adminUrl}/admin/clients`, { json: good })).status, 201, 'http(s) pages and bare origins (a trailing slash allowed) are accepted')
  const notJson = await call('POST', `${s.adminUrl}/admin/clients`, { body: '{nope', headers: { 'content-type': 'application/json' } })
  t.equal(notJson.status, 400)
  t.equal(notJson.body.error, 'invalid_request')
  t.match(notJson.body.error_description, /not valid JSON/)
})

forEachStore(t, 'post_logout_redirect_uris share scheme, host and port with a redirect URI (Hydra\'s validator cases), on POST, PUT and PATCH', async (t, s) => {
  const refused = (u: string) => `${METADATA} post_logout_redirect_uri '${u}' must match the domain, port, scheme of at least one of the registered redirect URIs but did not`
  const post = (id: string, redirect: string[], postLogout: string[]) =>
    call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: id, redirect_uris: redirect, post_logout_redirect_uris: postLogout } })
  for (const [i, u] of ['https://bar/', 'http://foo/', 'https://foo:1234/'].entries()) {
    const r = await post(`pl-bad-${i}`, ['https://foo/'], [u])
    t.equal(r.status, 400, u)
    t.equal(r.body.error, 'invalid_client_metadata')
    t.equal(r.body.error_description, refused(u))
  }
  const none = await post('pl-none', [], ['https://foo/bye'])
  t.equal(none.status, 400, 'without redirect URIs no post-logout URI can match')
  const ok = await post('pl-ok', ['https://foo/cb', 'http://127.0.0.1:5555/cb'], ['https://foo/', 'https://foo/bye?x=1', 'http://127.0.0.1:5555/'])
  t.equal(ok.status, 201, 'the same scheme, host and port with any path or query')
  t.same(ok.body.post_logout_redirect_uris, ['https://foo/', 'https://foo/bye?x=1', 'http://127.0.0.1:5555/'])

  const put = await call('PUT', `${s.adminUrl}/admin/clients/pl-ok`, { json: { redirect_uris: ['https://elsewhere.test/cb'], post_logout_redirect_uris: ['https://foo/'] } })
  t.equal(put.status, 400, 'PUT is validated as a whole')
  t.equal(put.body.error_description, refused('https://foo/'))
  const patch = await call('PATCH', `${s.adminUrl}/admin/clients/pl-ok`, { json: [{ op: 'replace', path: '/redirect_uris', value: ['https://elsewhere.test/cb'] }] })
  t.equal(patch.status, 400, 'a patch that leaves a post-logout URI without its redirect URI is refused')
  t.equal(patch.body.error_description, refused('https://foo/'))
  const kept = await call('GET', `${s.adminUrl}/admin/clients/pl-ok`)
  t.same(kept.body.redirect_uris, ['https://foo/cb', 'http://127.0.0.1:5555/cb'], 'the refused updates changed nothing')
})

forEachStore(t, 'GET/PUT/PATCH/DELETE of a missing client → 404', async (t, s) => {
  for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
    const r = await call(method, `${s.adminUrl}/admin/clients/nobody`, method === 'PUT' ? { json: {} } : method === 'PATCH' ? { json: [] } : {})
    t.equal(r.status, 404, method)
    t.equal(r.body.error, 'Unable to locate the resource')
  }
})

forEachStore(t, 'GET /admin/clients: keyset pages with Link rel=next/first, filters by client_name and owner', async (t, s) => {
  for (const id of ['c1', 'c2', 'c3', 'c4', 'c5']) {
    await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: id, client_name: id === 'c3' ? 'special' : 'n', owner: id < 'c3' ? 'team-a' : 'team-b' } })
  }
  const seen: string[] = []
  let next: string | undefined = '/admin/clients?page_size=2'
  let pages = 0
  while (next !== undefined) {
    const r = await call('GET', `${s.adminUrl}${next}`)
    t.equal(r.status, 200)
    t.ok(r.body.length <= 2)
    seen.push(...r.body.map((c: { client_id: string }) => c.client_id))
    const link = String(r.headers.link)
    t.match(link, /<\/admin\/clients\?page_size=2>; rel="first"/)
    next = /<([^>]+)>; rel="next"/.exec(link)?.[1]
    pages++
  }
  t.same(seen, ['c1', 'c2', 'c3', 'c4', 'c5'])
  t.equal(pages, 3)
  const all = await call('GET', `${s.adminUrl}/admin/clients`)
  t.equal(all.body.length, 5, 'default page size 250 holds them all')
  t.notMatch(String(all.headers.link), /rel="next"/)
  const named = await call('GET', `${s.adminUrl}/admin/clients?client_name=special`)
  t.same(named.body.map((c: { client_id: string }) => c.client_id), ['c3'])
  const owned = await call('GET', `${s.adminUrl}/admin/clients?owner=team-a`)
  t.same(owned.body.map((c: { client_id: string }) => c.client_id), ['c1', 'c2'])
  t.equal((await call('GET', `${s.adminUrl}/admin/clients?page_size=0`)).body.length, 5, 'page_size=0 is the default, as in Hydra')
  t.equal((await call('GET', `${s.adminUrl}/admin/clients?page_token=*`)).status, 400)
  t.equal((await call('GET', `${s.adminUrl}/admin/clients?page_size=5000`)).body.length, 5, 'page_size above 1000 is capped, not refused')
})

forEachStore(t, 'PUT replaces a client; the secret is kept unless a new one is sent, which takes effect at once', async (t, s) => {
  const c = await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: 'p', client_secret: 'old-secret', grant_types: ['client_credentials'], scope: 'a' } })
  t.equal(c.status, 201)
  const token = (secret: string) => call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('p', secret) })
  t.equal((await token('old-secret')).status, 200, 'warms the verified-secret cache')
  const put = await call('PUT', `${s.adminUrl}/admin/clients/p`, { json: { client_name: 'renamed', grant_types: ['client_credentials'], scope: 'a b' } })
  t.equal(put.status, 200)
  t.equal(put.body.client_name, 'renamed')
  t.equal(put.body.scope, 'a b')
  t.notOk('client_secret' in put.body)
  t.equal(put.body.created_at, c.body.created_at)
  t.equal((await token('old-secret')).status, 200, 'the secret survives an update without one')
  const rotated = await call('PUT', `${s.adminUrl}/admin/clients/p`, { json: { client_secret: 'new-secret', grant_types: ['client_credentials'] } })
  t.equal(rotated.body.client_secret, 'new-secret', 'a new secret is echoed once')
  const old = await token('old-secret')
  t.equal(old.status, 401, 'the cached old secret no longer works')
  t.equal(old.body.error, 'invalid_client')
  t.equal((await token('new-secret')).status, 200)
  const bad = await call('PUT', `${s.adminUrl}/admin/clients/p`, { json: { grant_types: ['nope'] } })
  t.equal(bad.status, 400)
  t.equal(bad.body.error, 'invalid_client_metadata')
})

forEachStore(t, 'PATCH applies a JSON Patch (RFC 6902); the id cannot change; bad patches are 400', async (t, s) => {
  await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: 'q', client_secret: 'secret-q', audience: ['a'] } })
  const r = await call('PATCH', `${s.adminUrl}/admin/clients/q`, {
    json: [
      { op: 'replace', path: '/client_name', value: 'patched' },
      { op: 'add', path: '/audience/-', value: 'b' },
      { op: 'add', path: '/metadata', value: { team: 'x' } },
    ],
  })
  t.equal(r.status, 200)
  t.equal(r.body.client_name, 'patched')
  t.same(r.body.audience, ['a', 'b'])
  t.same(r.body.metadata, { team: 'x' })
  t.equal((await call('GET', `${s.adminUrl}/admin/clients/q`)).body.client_name, 'patched', 'stored')
  const id = await call('PATCH', `${s.adminUrl}/admin/clients/q`, { json: [{ op: 'replace', path: '/client_id', value: 'other' }] })
  t.equal(id.status, 400)
  t.match(id.body.error_description, /client_id of a client can not be changed/)
  t.equal((await call('PATCH', `${s.adminUrl}/admin/clients/q`, { json: { op: 'replace' } })).status, 400)
  t.equal((await call('PATCH', `${s.adminUrl}/admin/clients/q`, { json: [{ op: 'jump', path: '/x' }] })).status, 400)
  t.equal((await call('PATCH', `${s.adminUrl}/admin/clients/q`, { json: [{ op: 'remove', path: '/nothing/here' }] })).status, 400)
  const metadata = await call('PATCH', `${s.adminUrl}/admin/clients/q`, { json: [{ op: 'add', path: '/client_secret', value: 'abc' }] })
  t.equal(metadata.status, 400, 'a patched secret is validated too')
  t.equal(metadata.body.error, 'invalid_client_metadata')
})

forEachStore(t, 'PATCH `replace /client_secret` rotates the secret, as in Hydra; other patches keep it', async (t, s) => {
  await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: 'r', client_secret: 'secret-r1', grant_types: ['client_credentials'] } })
  const issue = (secret: string) => call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('r', secret) })
  const old = (await issue('secret-r1')).body.access_token as string
  const renamed = await call('PATCH', `${s.adminUrl}/admin/clients/r`, { json: [{ op: 'replace', path: '/client_name', value: 'renamed' }] })
  t.equal(renamed.status, 200)
  t.equal(renamed.body.client_secret, undefined, 'no secret shown when none was set')
  t.equal((await issue('secret-r1')).status, 200, 'a patch without the secret keeps it')
  const rotated = await call('PATCH', `${s.adminUrl}/admin/clients/r`, { json: [{ op: 'replace', path: '/client_secret', value: 'secret-r2' }] })
  t.equal(rotated.status, 200, JSON.stringify(rotated.body))
  t.equal(rotated.body.client_secret, 'secret-r2', 'the new secret is shown this once')
  t.equal((await issue('secret-r1')).status, 401, 'the old secret is refused')
  t.equal((await issue('secret-r2')).status, 200, 'the new one works')
  t.same((await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: old } })).body, { active: false }, 'tokens of the old secret are revoked')
})

forEachStore(t, 'DELETE removes the client and its tokens', async (t, s) => {
  await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: 'd', client_secret: 'secret-d', grant_types: ['client_credentials'] } })
  const tok = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('d', 'secret-d') })
  const del = await call('DELETE', `${s.adminUrl}/admin/clients/d`)
  t.equal(del.status, 204)
  t.equal(del.body, '')
  t.equal((await call('GET', `${s.adminUrl}/admin/clients/d`)).status, 404)
  const i = await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: tok.body.access_token } })
  t.same(i.body, { active: false })
  const again = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('d', 'secret-d') })
  t.equal(again.status, 401, 'a deleted client cannot authenticate, even with a cached secret')
})

forEachStore(t, 'NUL characters are refused at the door (Postgres cannot store them): 400, not 500', async (t, s) => {
  const json = await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_name: 'a\u0000b' } })
  t.same([json.status, json.body.error], [400, 'invalid_request'])
  const path = await call('GET', `${s.adminUrl}/admin/clients/a%00b`)
  t.same([path.status, path.body.error], [400, 'invalid_request'])
  const query = await call('GET', `${s.adminUrl}/admin/clients?owner=a%00b`)
  t.equal(query.status, 400)
  const form = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials', scope: 'a\u0000' }, headers: basic('x', 'y') })
  t.equal(form.status, 400)
  const header = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('a\u0000', 'y') })
  t.same([header.status, header.body.error], [401, 'invalid_client'])
})
