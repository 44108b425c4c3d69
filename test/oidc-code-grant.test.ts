import t from 'tap'
import { forEachStore } from './helpers/token-server.js'
import { authorize, createOidcClient, exchange, granted, halfSha256, introspect, pkce, REDIRECT, token, verifyIdToken } from './helpers/oidc.js'

forEachStore(t, 'code + PKCE S256 → access, refresh and ID token; the code is single-use', async (t, s) => {
  const client = await createOidcClient(s)
  const { verifier, challenge } = pkce()
  const g = granted(client.id, {}, { code_challenge: challenge, code_challenge_method: 'S256' })
  const answer = await authorize(s, g)
  t.match(answer.code, /^ory_ac_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/)
  t.equal(answer.scope, 'openid offline_access')
  t.notOk('access_token' in answer, 'response_type=code issues no token at the authorization endpoint')

  const res = await exchange(s, client, answer.code!, verifier)
  t.equal(res.status, 200, JSON.stringify(res.body))
  t.same(Object.keys(res.body), ['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type'], "Hydra's fields, in its order")
  t.match(res.body, { expires_in: 3600, scope: 'openid offline_access', token_type: 'bearer' })
  t.match(res.body.access_token, /^ory_at_/)
  t.match(res.body.refresh_token, /^ory_rt_/)
  t.equal(res.headers['cache-control'], 'no-store')

  const at = await introspect(s, res.body.access_token)
  t.match(at, { active: true, sub: 'alice', client_id: client.id, scope: 'openid offline_access', token_use: 'access_token', ext: { role: 'reader' } })
  const rt = await introspect(s, res.body.refresh_token)
  t.match(rt, { active: true, sub: 'alice', client_id: client.id, token_use: 'refresh_token' })

  const id = await verifyIdToken(s, res.body.id_token, client.id)
  t.equal(id.sub, 'alice')
  t.equal(id.nonce, 'nonce-0123456789')
  t.equal(id.at_hash, halfSha256(res.body.access_token), 'at_hash of the access token, computed independently')
  t.notOk('c_hash' in id, 'no c_hash at the token endpoint')

  const again = await exchange(s, client, answer.code!, verifier)
  t.same(again.body, {
    error: 'invalid_grant',
    error_description:
      'The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client. The authorization code has already been used.',
  })
  t.equal(again.status, 400)
  t.same(await introspect(s, res.body.access_token), { active: false }, 'reusing the code revoked the access token issued from it')
  t.same(await introspect(s, res.body.refresh_token), { active: false }, 'and the refresh token')
  const refresh = await token(s, client, { grant_type: 'refresh_token', refresh_token: res.body.refresh_token })
  t.equal(refresh.body.error, 'invalid_grant', 'the refresh token of a revoked grant is refused')
})

forEachStore(t, 'PKCE: a missing, short, wrong or malformed verifier is invalid_grant, and a failed verifier burns the code', async (t, s) => {
  const client = await createOidcClient(s)
  const { verifier, challenge } = pkce()
  const fresh = async () => (await authorize(s, granted(client.id, {}, { code_challenge: challenge, code_challenge_method: 'S256' }))).code!
  const hint = async (v: string | undefined) => {
    const r = await exchange(s, client, await fresh(), v)
    t.equal(r.status, 400)
    t.equal(r.body.error, 'invalid_grant')
    return String(r.body.error_description).replace(/^.*? or was issued to another client\. /, '')
  }
  t.equal(await hint(undefined), 'The PKCE code verifier must be at least 43 characters.')
  t.equal(await hint('x'.repeat(129)), 'The PKCE code verifier can not be longer than 128 characters.')
  t.equal(await hint(`${'a'.repeat(42)}!`), "The PKCE code verifier must only contain [a-Z], [0-9], '-', '.', '_', '~'.")
  t.equal(await hint(pkce().verifier), 'The PKCE code challenge did not match the code verifier.')

  const code = await fresh()
  const wrong = await exchange(s, client, code, pkce().verifier)
  t.equal(wrong.body.error, 'invalid_grant')
  const right = await exchange(s, client, code, verifier)
  t.equal(right.body.error, 'invalid_grant', 'the right verifier after a wrong one: the code is gone')

  const plain = pkce().verifier
  const plainCode = (await authorize(s, granted(client.id, {}, { code_challenge: plain, code_challenge_method: 'plain' }))).code!
  t.equal((await exchange(s, client, plainCode, plain)).status, 200, 'plain compares the verifier itself')

  const noChallenge = (await authorize(s, granted(client.id))).code!
  const unexpected = await exchange(s, client, noChallenge, verifier)
  t.match(unexpected.body.error_description, /Unable to find initial PKCE data tied to this request$/, 'a verifier for a code without a challenge')
})

forEachStore(t, 'the code must be exchanged by its client, with its redirect_uri, before it expires', async (t, s) => {
  const client = await createOidcClient(s)
  const other = await createOidcClient(s)
  const code = (await authorize(s, granted(client.id))).code!

  const otherClient = await exchange(s, other, code)
  t.equal(otherClient.body.error, 'invalid_grant')
  t.match(otherClient.body.error_description, /The OAuth 2\.0 Client ID from this request does not match the one from the authorize request\.$/)

  const wrongRedirect = await token(s, client, { grant_type: 'authorization_code', code, redirect_uri: 'https://app.example.test/other' })
  t.match(wrongRedirect.body, { error: 'invalid_grant', error_description: /The 'redirect_uri' from this request does not match the one from the authorize request\.$/ })
  const noRedirect = await token(s, client, { grant_type: 'authorization_code', code })
  t.equal(noRedirect.body.error, 'invalid_grant', 'redirect_uri is required when the authorization request named it')

  const ok = await exchange(s, client, code)
  t.equal(ok.status, 200, 'failed attempts of others do not burn the code')

  const unnamed = (await authorize(s, granted(client.id, {}, { redirect_uri_given: false }))).code!
  t.equal((await token(s, client, { grant_type: 'authorization_code', code: unnamed })).status, 200, 'not named in the request: not required')

  const expiring = (await authorize(s, granted(client.id))).code!
  const hash = s.server.context.codes.verify(expiring)!
  const now = Math.floor(Date.now() / 1000)
  const record = (await s.server.context.store.oidc.find('auth_code', hash, now))!
  await s.server.context.store.oidc.upsert({ ...record, expires_at: now - 1 })
  const expired = await exchange(s, client, expiring)
  t.same([expired.status, expired.body.error], [400, 'invalid_grant'], 'expired')

  for (const bad of ['', 'ory_ac_nope.nope', `${expiring.slice(0, -2)}AA`, ok.body.access_token]) {
    const r = await token(s, client, { grant_type: 'authorization_code', code: bad, redirect_uri: REDIRECT })
    t.same([r.status, r.body.error], [400, 'invalid_grant'], `not a code: ${bad.slice(0, 12)}`)
  }
})

forEachStore(t, 'a public client (token_endpoint_auth_method none) exchanges with its client_id alone, in the body or as Basic "id:"', async (t, s) => {
  const pub = await createOidcClient(s, { client_secret: undefined, token_endpoint_auth_method: 'none' })
  t.equal(pub.secret, '')
  const { verifier, challenge } = pkce()
  const code = (await authorize(s, granted(pub.id, {}, { code_challenge: challenge, code_challenge_method: 'S256' }))).code!
  const res = await exchange(s, pub, code, verifier)
  t.equal(res.status, 200, JSON.stringify(res.body))
  t.ok(res.body.refresh_token)

  const code2 = (await authorize(s, granted(pub.id, {}, { code_challenge: challenge, code_challenge_method: 'S256' }))).code!
  const { call, basic } = await import('./helpers/token-server.js')
  const viaBasic = await call('POST', `${s.publicUrl}/oauth2/token`, {
    form: { grant_type: 'authorization_code', code: code2, redirect_uri: REDIRECT, code_verifier: verifier },
    headers: basic(pub.id, ''),
  })
  t.equal(viaBasic.status, 200, 'Basic with an empty secret is no authentication, as fosite')
  const withSecret = await call('POST', `${s.publicUrl}/oauth2/token`, {
    form: { grant_type: 'refresh_token', refresh_token: res.body.refresh_token },
    headers: basic(pub.id, 'a-secret'),
  })
  t.same([withSecret.status, withSecret.body.error], [401, 'invalid_client'], 'a public client presenting a secret')
  const confidential = await createOidcClient(s)
  const bare = await token(s, { id: confidential.id, secret: '' }, { grant_type: 'authorization_code', code: 'x' })
  t.same([bare.status, bare.body.error], [401, 'invalid_client'], 'a confidential client must authenticate')
})

forEachStore(t, 'refresh tokens only for offline/offline_access and clients allowed the refresh grant; ID tokens only for openid', async (t, s) => {
  const client = await createOidcClient(s)
  const noOffline = (await authorize(s, granted(client.id, { granted_scope: ['openid'] }))).code!
  const a = await exchange(s, client, noOffline)
  t.equal(a.status, 200)
  t.notOk('refresh_token' in a.body, 'no offline scope: no refresh token')
  t.ok(a.body.id_token)

  const noOpenid = (await authorize(s, granted(client.id, { granted_scope: ['offline'] }))).code!
  const b = await exchange(s, client, noOpenid)
  t.notOk('id_token' in b.body, 'no openid: no ID token')
  t.ok(b.body.refresh_token, 'offline is enough')

  const codeOnly = await createOidcClient(s, { grant_types: ['authorization_code'] })
  const c = await exchange(s, codeOnly, (await authorize(s, granted(codeOnly.id))).code!)
  t.equal(c.status, 200)
  t.notOk('refresh_token' in c.body, 'a client without the refresh_token grant gets none')
})

forEachStore(t, "per-client lifespans: authorization_code_grant_*_lifespan", async (t, s) => {
  const client = await createOidcClient(s, {
    authorization_code_grant_access_token_lifespan: '5m',
    authorization_code_grant_id_token_lifespan: '2m',
    authorization_code_grant_refresh_token_lifespan: '10m',
  })
  const res = await exchange(s, client, (await authorize(s, granted(client.id))).code!)
  t.equal(res.body.expires_in, 300)
  const at = await introspect(s, res.body.access_token)
  t.equal(Number(at.exp) - Number(at.iat), 300)
  const rt = await introspect(s, res.body.refresh_token)
  t.equal(Number(rt.exp) - Number(rt.iat), 600)
  const id = await verifyIdToken(s, res.body.id_token, client.id)
  t.equal(id.exp! - id.iat!, 120)
})
