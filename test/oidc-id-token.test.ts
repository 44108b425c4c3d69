import { createHash } from 'node:crypto'
import { decodeProtectedHeader } from 'jose'
import t from 'tap'
import { call, startTokenServer } from './helpers/token-server.js'
import { authorize, createOidcClient, exchange, granted, halfSha256, verifyIdToken } from './helpers/oidc.js'

t.test('ID token claims: Hydra set, session.id_token added, never over a protected claim; kid of hydra.openid.id-token', async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  const client = await createOidcClient(s)
  const g = granted(client.id, {
    session: {
      access_token: {},
      id_token: { email: 'alice@example.test', sub: 'mallory', iss: 'https://evil.test', aud: ['evil'], nonce: 'n', sid: 'x', acr: 'fake', exp: 1, jti: 'j' },
    },
  })
  const res = await exchange(s, client, (await authorize(s, g)).code!)
  t.equal(res.status, 200)
  const header = decodeProtectedHeader(res.body.id_token)
  const keys = (await call('GET', `${s.adminUrl}/admin/keys/hydra.openid.id-token`)).body.keys
  t.same([header.alg, header.kid], ['RS256', keys[0].kid], 'signed with the ID token set, its kid in the header')
  const id = await verifyIdToken(s, res.body.id_token, client.id)
  t.match(id, {
    iss: s.server.context.issuer,
    sub: 'alice',
    aud: [client.id],
    nonce: 'nonce-0123456789',
    acr: 'urn:example:pwd',
    amr: ['pwd'],
    sid: g.sid,
    auth_time: g.auth_time,
    rat: g.request.requested_at,
    email: 'alice@example.test',
  })
  t.type(id.jti, 'string')
  t.not(id.jti, 'j')
  t.ok(id.exp! - id.iat! === 3600, 'ttl.id_token (1h)')
  t.ok(Math.abs(id.iat! - Date.now() / 1000) < 60)

  const plain = granted(client.id, { acr: '' }, { nonce: undefined, acr_values: ['urn:gold'] })
  const id2 = await verifyIdToken(s, (await exchange(s, client, (await authorize(s, plain)).code!)).body.id_token, client.id)
  t.notOk('nonce' in id2, 'no nonce asked: none in the token')
  t.equal(id2.acr, '0', 'acr_values asked, no acr given: "0", as fosite')
})

t.test('pairwise subjects: SHA-256(sector || subject || salt); force_subject_identifier; refused without configuration', async (t) => {
  const salt = 'a-pairwise-salt-0123'
  const s = await startTokenServer({ config: { oidc: { subject_identifiers: { supported_types: ['public', 'pairwise'], pairwise: { salt } } } } })
  t.teardown(() => s.close())
  const expected = (sector: string) => createHash('sha256').update(sector + 'alice' + salt).digest('hex')

  const byHost = await createOidcClient(s, { subject_type: 'pairwise', redirect_uris: ['https://app.example.test:8443/callback'] })
  const g = granted(byHost.id, {}, { redirect_uri: 'https://app.example.test:8443/callback' })
  const code = (await authorize(s, g)).code!
  const res = await call('POST', `${s.publicUrl}/oauth2/token`, {
    form: { grant_type: 'authorization_code', code, redirect_uri: 'https://app.example.test:8443/callback' },
    headers: { authorization: `Basic ${Buffer.from(`${byHost.id}:${byHost.secret}`).toString('base64')}` },
  })
  const id = await verifyIdToken(s, res.body.id_token, byHost.id)
  t.equal(id.sub, expected('app.example.test:8443'), 'the redirect URI host (with its port)')
  const at = (await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: res.body.access_token } })).body
  t.equal(at.sub, 'alice', 'access tokens keep the login subject, as in Hydra')

  const bySector = await createOidcClient(s, { subject_type: 'pairwise', sector_identifier_uri: 'https://app.example.test/sector.json', redirect_uris: ['https://a.example.test/cb', 'https://b.example.test/cb'] })
  const a = await authorize(s, granted(bySector.id, {}, { response_types: ['id_token'], redirect_uri: 'https://a.example.test/cb' }))
  t.equal((await verifyIdToken(s, a.id_token!, bySector.id)).sub, expected('https://app.example.test/sector.json'), 'the whole sector_identifier_uri')

  const forced = await authorize(s, granted(bySector.id, { force_subject_identifier: 'forced-sub' }, { response_types: ['id_token'] }))
  t.equal((await verifyIdToken(s, forced.id_token!, bySector.id)).sub, 'forced-sub')

  const ambiguous = await createOidcClient(s, { subject_type: 'pairwise', redirect_uris: ['https://a.example.test/cb', 'https://b.example.test/cb'] })
  await t.rejects(authorize(s, granted(ambiguous.id)), { message: /^invalid_request: .*has multiple redirect_uris but no sector_identifier_uri/ })

  const publicOnly = await startTokenServer()
  t.teardown(() => publicOnly.close())
  const pw = await createOidcClient(publicOnly, { subject_type: 'pairwise' })
  await t.rejects(authorize(publicOnly, granted(pw.id)), { message: /^invalid_request: .*Subject Identifier Algorithm 'pairwise' was requested by OAuth 2\.0 Client '.*' but is not configured\./ })
})

t.test('implicit and hybrid response types: tokens from the authorization endpoint, c_hash and at_hash', async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  const client = await createOidcClient(s, { implicit_grant_access_token_lifespan: '15m', implicit_grant_id_token_lifespan: '5m' })
  const hybrid = await authorize(s, granted(client.id, {}, { response_types: ['code', 'id_token', 'token'], response_mode: 'fragment' }))
  t.same(Object.keys(hybrid).sort(), ['access_token', 'code', 'expires_in', 'id_token', 'scope', 'token_type'])
  t.match(hybrid, { token_type: 'bearer', expires_in: '900', scope: 'openid offline_access' })
  const id = await verifyIdToken(s, hybrid.id_token!, client.id)
  t.equal(id.c_hash, halfSha256(hybrid.code!), 'c_hash of the code')
  t.equal(id.at_hash, halfSha256(hybrid.access_token!), 'at_hash of the access token')
  t.equal(id.exp! - id.iat!, 300, 'implicit_grant_id_token_lifespan')
  const at = (await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: hybrid.access_token! } })).body
  t.match(at, { active: true, sub: 'alice', token_use: 'access_token' })
  const ui = await call('GET', `${s.publicUrl}/userinfo`, { headers: { authorization: `Bearer ${hybrid.access_token}` } })
  t.match(ui.body, { sub: 'alice', email: 'alice@example.test' }, 'an implicit access token reaches userinfo')

  const codeIdToken = await authorize(s, granted(client.id, {}, { response_types: ['code', 'id_token'] }))
  const id2 = await verifyIdToken(s, codeIdToken.id_token!, client.id)
  t.equal(id2.c_hash, halfSha256(codeIdToken.code!))
  t.notOk('at_hash' in id2)
  t.equal((await exchange(s, client, codeIdToken.code!)).status, 200, 'the code of a hybrid flow is exchanged as any')

  const idOnly = await authorize(s, granted(client.id, {}, { response_types: ['id_token'] }))
  t.same(Object.keys(idOnly).sort(), ['id_token', 'scope'])
})

t.test('ID tokens follow the newest key of hydra.openid.id-token (ES256 after a rotation)', async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  const made = await call('POST', `${s.adminUrl}/admin/keys/hydra.openid.id-token`, { json: { alg: 'ES256', use: 'sig', kid: 'es-key' } })
  t.equal(made.status, 201, JSON.stringify(made.body))
  const client = await createOidcClient(s)
  const res = await exchange(s, client, (await authorize(s, granted(client.id))).code!)
  t.same(decodeProtectedHeader(res.body.id_token), { alg: 'ES256', kid: 'es-key', typ: 'JWT' })
  const id = await verifyIdToken(s, res.body.id_token, client.id)
  t.equal(id.at_hash, halfSha256(res.body.access_token), 'ES256: SHA-256 half too')
  const d = (await call('GET', `${s.publicUrl}/.well-known/openid-configuration`)).body
  t.same(d.id_token_signing_alg_values_supported, ['ES256'], 'discovery follows the signing key')
})
