/**
 * OpenID Connect end to end with real relying-party libraries against the token server as a
 * real process, on SQLite and on Postgres: openid-client v6 (confidential client) and
 * oauth4webapi v3 (public client) run the code flow with PKCE S256, state and nonce, validate the
 * ID token, call userinfo and refresh (rotation, reuse detection). The login/consent app is the
 * test, through @ory/hydra-client; the browser is undici with a cookie jar.
 */
import * as oauth from 'oauth4webapi'
import * as client from 'openid-client'
import t, { type Test } from 'tap'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { adminSdk, Browser, param } from './helpers/oidc-flow.js'
import { forEachProcessStore, ISSUER, LOGOUT, prepareServer, signIn, type ServerProcess } from './helpers/oidc-process.js'
import { call } from './helpers/token-server.js'

const REDIRECT = 'https://rp.example.test/cb'
const POST_LOGOUT = 'https://rp.example.test/signed-out'
const SCOPE = 'openid offline_access profile email'

async function register(t: Test, s: ServerProcess, body: Record<string, unknown>): Promise<void> {
  const r = await call('POST', `${s.adminUrl}/admin/clients`, {
    json: { grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: [REDIRECT], post_logout_redirect_uris: [POST_LOGOUT], scope: SCOPE, ...body },
  })
  t.equal(r.status, 201, r.status === 201 ? 'client registered' : JSON.stringify(r.body))
}

async function introspect(s: ServerProcess, token: string): Promise<Record<string, unknown>> {
  return (await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token } })).body as Record<string, unknown>
}

/** openid-client's error for a refused token request, as `{ status, error }`. */
async function refused(p: Promise<unknown>): Promise<{ status: number; error: string }> {
  try {
    await p
  } catch (err) {
    if (err instanceof client.ResponseBodyError) return { status: err.status, error: err.error }
    throw err
  }
  throw new Error('expected a refusal')
}

forEachProcessStore(t, 'openid-client v6: discovery, code + PKCE S256, ID token, userinfo, refresh rotation and reuse, RP-initiated logout', 120_000, async (t, store) => {
  const s = await (await prepareServer(t, store)).serve()
  await register(t, s, { client_id: 'rp-oc', client_secret: 'rp-oc-secret-0123', token_endpoint_auth_method: 'client_secret_basic' })

  const config = await client.discovery(new URL(ISSUER), 'rp-oc', { redirect_uris: [REDIRECT] }, client.ClientSecretBasic('rp-oc-secret-0123'), {
    [client.customFetch]: s.fetchLocal,
    execute: [client.allowInsecureRequests],
  })
  const meta = config.serverMetadata()
  t.equal(meta.issuer, ISSUER)
  t.ok(meta.code_challenge_methods_supported?.includes('S256'))

  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: SCOPE, state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  })
  t.ok(url.href.startsWith(`${ISSUER}oauth2/auth?`))
  const b = new Browser()
  const { location, login, consent } = await signIn(s, b, url, { remember: true, session: { email: 'alice@example.test', email_verified: true, name: 'Alice' } })
  t.same(login.requested_scope, SCOPE.split(' '))
  t.equal(login.client.client_id, 'rp-oc')
  t.equal(consent.subject, 'alice@example.test')
  t.ok(location.startsWith(`${REDIRECT}?`), location)

  const tokens = await client.authorizationCodeGrant(config, new URL(location), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true })
  t.equal(tokens.token_type.toLowerCase(), 'bearer')
  t.match(tokens.access_token, /^ory_at_/)
  t.match(tokens.refresh_token, /^ory_rt_/)
  t.same(tokens.scope?.split(' ').sort(), SCOPE.split(' ').sort())
  const claims = tokens.claims()!
  t.match(claims, { iss: ISSUER, sub: 'alice@example.test', aud: ['rp-oc'], nonce, acr: '1', amr: ['pwd'], email: 'alice@example.test', name: 'Alice' })
  t.type(claims.at_hash, 'string', 'at_hash present (openid-client checked it)')
  t.type(claims.sid, 'string')

  const info = await client.fetchUserInfo(config, tokens.access_token, 'alice@example.test')
  t.match(info, { sub: 'alice@example.test', email: 'alice@example.test', email_verified: true, name: 'Alice' })

  const at = await introspect(s, tokens.access_token)
  t.match(at, { active: true, client_id: 'rp-oc', sub: 'alice@example.test', token_use: 'access_token' })
  const rt = await introspect(s, tokens.refresh_token!)
  t.match(rt, { active: true, client_id: 'rp-oc', token_use: 'refresh_token' })

  // Rotation: a new pair and a new ID token for the same subject; the old pair is gone.
  const rotated = await client.refreshTokenGrant(config, tokens.refresh_token!)
  t.not(rotated.refresh_token, tokens.refresh_token)
  t.not(rotated.access_token, tokens.access_token)
  t.match(rotated.claims(), { iss: ISSUER, sub: 'alice@example.test', aud: ['rp-oc'] })
  t.same(await introspect(s, tokens.access_token), { active: false }, 'the old access token is inactive after rotation')
  t.match(await introspect(s, rotated.access_token), { active: true, token_use: 'access_token' })

  // The old refresh token again: refused, and the whole grant is revoked.
  t.same(await refused(client.refreshTokenGrant(config, tokens.refresh_token!)), { status: 400, error: 'invalid_grant' })
  t.same(await introspect(s, rotated.access_token), { active: false }, 'reuse revoked the grant: the new access token too')
  t.same(await refused(client.refreshTokenGrant(config, rotated.refresh_token!)), { status: 400, error: 'invalid_grant' }, 'and the new refresh token')

  // RP-initiated logout with openid-client's end-session URL: the logout app (the test, through
  // the SDK) accepts, and the browser lands on the registered URI with the state.
  t.equal(meta.end_session_endpoint, `${ISSUER}oauth2/sessions/logout`)
  const logoutState = client.randomState()
  const endSession = client.buildEndSessionUrl(config, { id_token_hint: rotated.id_token!, post_logout_redirect_uri: POST_LOGOUT, state: logoutState })
  const toLogout = await b.visit(s.local(endSession))
  t.ok(toLogout.location?.startsWith(`${LOGOUT}?`), String(toLogout.location))
  const logoutChallenge = param(toLogout.location, 'logout_challenge')!
  const sdk = adminSdk(s.adminUrl)
  const { data: logoutRequest } = await sdk.getOAuth2LogoutRequest({ logoutChallenge })
  t.match(logoutRequest, { subject: 'alice@example.test', sid: claims.sid, rp_initiated: true, client: { client_id: 'rp-oc' } })
  const { data: accepted } = await sdk.acceptOAuth2LogoutRequest({ logoutChallenge })
  const back = await b.visit(s.local(accepted.redirect_to))
  t.equal(back.status, 302)
  t.equal(back.location, `${POST_LOGOUT}?state=${logoutState}`)
  // The session is gone: prompt=none now answers login_required at the redirect URI.
  const again = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: SCOPE, state: client.randomState(), prompt: 'none', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' })
  t.equal(param((await b.visit(s.local(again))).location, 'error'), 'login_required')
})

forEachProcessStore(t, 'oauth4webapi v3 (strict): public client, code + PKCE, validateAuthResponse, ID token, userinfo, refresh', 120_000, async (t, store) => {
  const s = await (await prepareServer(t, store)).serve()
  await register(t, s, { client_id: 'rp-o4', token_endpoint_auth_method: 'none' })
  const opts = { [oauth.customFetch]: s.fetchLocal, [oauth.allowInsecureRequests]: true }

  const issuer = new URL(ISSUER)
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...opts }))
  const rp: oauth.Client = { client_id: 'rp-o4' }
  const auth = oauth.None()

  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = oauth.generateRandomNonce()
  const url = new URL(as.authorization_endpoint!)
  for (const [k, v] of Object.entries({
    client_id: 'rp-o4', redirect_uri: REDIRECT, response_type: 'code', scope: SCOPE, state, nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  })) url.searchParams.set(k, v)
  const { location } = await signIn(s, new Browser(), url)

  // validateAuthResponse requires `iss` when discovery announces it, and checks it.
  const callback = new URL(location)
  if (as.authorization_response_iss_parameter_supported === true) t.equal(callback.searchParams.get('iss'), ISSUER, 'iss is sent as announced')
  else t.equal(callback.searchParams.get('iss'), null, 'no iss, and none announced')
  const params = oauth.validateAuthResponse(as, rp, callback, state)
  // A state that is not ours is refused by the library.
  t.throws(() => oauth.validateAuthResponse(as, rp, callback, 'another-state-0123'))

  const response = await oauth.authorizationCodeGrantRequest(as, rp, auth, params, REDIRECT, verifier, opts)
  const result = await oauth.processAuthorizationCodeResponse(as, rp, response, { expectedNonce: nonce, requireIdToken: true })
  const claims = oauth.getValidatedIdTokenClaims(result)!
  t.match(claims, { iss: ISSUER, sub: 'alice@example.test', aud: ['rp-o4'], nonce })
  // oauth4webapi checks claims; the signature is checked here against the published JWKS.
  const jwks = createRemoteJWKSet(new URL(s.local(as.jwks_uri!)))
  const { protectedHeader } = await jwtVerify(result.id_token!, jwks, { issuer: ISSUER, audience: 'rp-o4' })
  t.equal(protectedHeader.alg, 'RS256')

  const info = await oauth.processUserInfoResponse(as, rp, claims.sub, await oauth.userInfoRequest(as, rp, result.access_token, opts))
  t.match(info, { sub: 'alice@example.test', email: 'alice@example.test' })
  // A subject other than the ID token's is refused by the library.
  await t.rejects(oauth.processUserInfoResponse(as, rp, 'mallory', await oauth.userInfoRequest(as, rp, result.access_token, opts)))

  t.match(await introspect(s, result.access_token), { active: true, client_id: 'rp-o4', token_use: 'access_token' })
  t.match(await introspect(s, result.refresh_token!), { active: true, client_id: 'rp-o4', token_use: 'refresh_token' })

  const refreshed = await oauth.processRefreshTokenResponse(as, rp, await oauth.refreshTokenGrantRequest(as, rp, auth, result.refresh_token!, opts))
  t.not(refreshed.refresh_token, result.refresh_token)
  t.match(oauth.getValidatedIdTokenClaims(refreshed), { sub: 'alice@example.test', aud: ['rp-o4'] })
  t.match(await introspect(s, refreshed.access_token), { active: true })

  // Reuse of the rotated token: invalid_grant, and the grant dies.
  const reuse = await oauth.refreshTokenGrantRequest(as, rp, auth, result.refresh_token!, opts)
  const err = await oauth.processRefreshTokenResponse(as, rp, reuse).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof oauth.ResponseBodyError, 'refused')
  t.equal((err as oauth.ResponseBodyError).error, 'invalid_grant')
  t.same(await introspect(s, refreshed.access_token), { active: false })
  t.same(await introspect(s, refreshed.refresh_token!), { active: false })
})
