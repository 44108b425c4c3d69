import t from 'tap'
import { call, basic, forEachStore, startTokenServer } from './helpers/token-server.js'
import { authorize, createOidcClient, exchange, granted, halfSha256, introspect, token, verifyIdToken } from './helpers/oidc.js'
import type { RunningTokenServer } from './helpers/token-server.js'

async function codeTokens(s: RunningTokenServer, client: { id: string; secret: string }, over = {}) {
  const res = await exchange(s, client, (await authorize(s, granted(client.id, over))).code!)
  if (res.status !== 200) throw new Error(JSON.stringify(res.body))
  return res.body as { access_token: string; refresh_token: string; id_token: string; expires_in: number; scope: string }
}

const refresh = (s: RunningTokenServer, client: { id: string; secret: string }, rt: string, extra: Record<string, string> = {}) =>
  token(s, client, { grant_type: 'refresh_token', refresh_token: rt, ...extra })

forEachStore(t, 'rotation: a new pair and ID token each time; the old pair is gone; introspection says token_use', async (t, s) => {
  const client = await createOidcClient(s)
  const first = await codeTokens(s, client)
  const firstId = await verifyIdToken(s, first.id_token, client.id)
  const r = await refresh(s, client, first.refresh_token)
  t.equal(r.status, 200, JSON.stringify(r.body))
  t.same(Object.keys(r.body), ['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type'])
  t.not(r.body.refresh_token, first.refresh_token)
  t.equal(r.body.scope, 'openid offline_access')
  const id = await verifyIdToken(s, r.body.id_token, client.id)
  t.equal(id.at_hash, halfSha256(r.body.access_token), 'the new ID token hashes the new access token')
  t.equal(id.auth_time, firstId.auth_time, 'auth_time is the login, not the refresh')
  t.equal(id.sub, 'alice')
  t.not(id.jti, firstId.jti)

  t.same(await introspect(s, first.access_token), { active: false }, 'strict rotation revokes the previous access token (Hydra)')
  t.same(await introspect(s, first.refresh_token), { active: false }, 'and the used refresh token')
  t.match(await introspect(s, r.body.access_token), { active: true, token_use: 'access_token', ext: { role: 'reader' } })
  t.match(await introspect(s, r.body.refresh_token), { active: true, token_use: 'refresh_token', scope: 'openid offline_access' })

  const again = await refresh(s, client, r.body.refresh_token)
  t.equal(again.status, 200, 'the new refresh token rotates in turn')
})

forEachStore(t, 'reusing a rotated refresh token revokes the whole grant', async (t, s) => {
  const client = await createOidcClient(s)
  const first = await codeTokens(s, client)
  const second = (await refresh(s, client, first.refresh_token)).body
  const reuse = await refresh(s, client, first.refresh_token)
  t.same(reuse.body, {
    error: 'invalid_grant',
    error_description:
      'The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client. The refresh token was already used.',
  })
  t.same(await introspect(s, second.access_token), { active: false }, 'the live access token of the grant is revoked')
  t.same(await introspect(s, second.refresh_token), { active: false })
  const legit = await refresh(s, client, second.refresh_token)
  t.match(legit.body, { error: 'invalid_grant', error_description: /The refresh token is malformed or not valid\.$/ }, 'the latest refresh token is dead too')
})

forEachStore(t, 'two concurrent refreshes of one token: exactly one succeeds, the other is told to retry (nothing revoked)', async (t, s) => {
  const client = await createOidcClient(s)
  for (let round = 0; round < 3; round++) {
    const { refresh_token: rt } = await codeTokens(s, client)
    const answers = await Promise.all([refresh(s, client, rt), refresh(s, client, rt)])
    const ok = answers.filter((a) => a.status === 200)
    const failed = answers.filter((a) => a.status !== 200)
    t.equal(ok.length, 1, `round ${round}: one winner`)
    t.equal(failed.length, 1)
    t.equal(failed[0]!.status, 400)
    // Hydra's answer for a race is invalid_request (retry); once the winner's rotation is written, a late one is a reuse.
    t.ok(['invalid_request', 'invalid_grant'].includes(failed[0]!.body.error), JSON.stringify(failed[0]!.body))
    if (failed[0]!.body.error === 'invalid_request') {
      t.match(failed[0]!.body.error_description, /multiple concurrent requests using the same token\. Please retry the request\.$/)
      t.match(await introspect(s, ok[0]!.body.access_token), { active: true }, "the winner's tokens stand")
    } else {
      t.same(await introspect(s, ok[0]!.body.access_token), { active: false }, 'a reuse after the rotation revoked the grant')
    }
  }
})

forEachStore(t, 'scope narrows the new access token (RFC 6749 §6), never widens it; the refresh token keeps the grant', async (t, s) => {
  const client = await createOidcClient(s)
  const first = await codeTokens(s, client, { granted_scope: ['openid', 'offline_access', 'profile'] })
  const narrow = await refresh(s, client, first.refresh_token, { scope: 'profile offline_access' })
  t.equal(narrow.status, 200, JSON.stringify(narrow.body))
  t.equal(narrow.body.scope, 'profile offline_access')
  t.match(await introspect(s, narrow.body.access_token), { scope: 'profile offline_access' })
  t.match(await introspect(s, narrow.body.refresh_token), { scope: 'openid offline_access profile' })
  const wide = await refresh(s, client, narrow.body.refresh_token, { scope: 'email' })
  t.match(wide.body, { error: 'invalid_scope', error_description: /The requested scope 'email' was not granted to this refresh token\.$/ })
  t.equal((await refresh(s, client, narrow.body.refresh_token)).status, 200, 'a refused scope does not use the token up')
})

forEachStore(t, 'a refresh token works only for its client, only as a refresh token, and not after its grant is revoked', async (t, s) => {
  const client = await createOidcClient(s)
  const other = await createOidcClient(s)
  const first = await codeTokens(s, client)
  const foreign = await refresh(s, other, first.refresh_token)
  t.match(foreign.body, { error: 'invalid_grant', error_description: /does not match the ID during the initial token issuance\.$/ })
  const asAccess = await refresh(s, client, first.access_token)
  t.match(asAccess.body, { error: 'invalid_grant', error_description: /malformed or not valid\.$/ }, 'an access token is no refresh token')
  const disguised = `ory_at_${first.refresh_token.slice('ory_rt_'.length)}`
  t.same(await introspect(s, disguised), { active: false }, 'a refresh token re-prefixed as an access token is nothing')

  const revoke = await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token: first.refresh_token }, headers: basic(client.id, client.secret) })
  t.equal(revoke.status, 200)
  t.same(await introspect(s, first.access_token), { active: false }, 'revoking the refresh token revokes the grant')
  const after = await refresh(s, client, first.refresh_token)
  t.equal(after.body.error, 'invalid_grant')

  const next = await codeTokens(s, client)
  await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token: next.access_token }, headers: basic(client.id, client.secret) })
  t.equal((await refresh(s, client, next.refresh_token)).body.error, 'invalid_grant', 'revoking the access token kills the refresh token too')
})

forEachStore(t, 'per-client refresh_token_grant_*_lifespan', async (t, s) => {
  const client = await createOidcClient(s, {
    refresh_token_grant_access_token_lifespan: '7m',
    refresh_token_grant_id_token_lifespan: '3m',
    refresh_token_grant_refresh_token_lifespan: '20m',
  })
  const first = await codeTokens(s, client)
  t.equal(first.expires_in, 3600, 'the code exchange uses its own (unset: ttl.access_token)')
  const r = (await refresh(s, client, first.refresh_token)).body
  t.equal(r.expires_in, 420)
  const rt = await introspect(s, r.refresh_token)
  t.equal(Number(rt.exp) - Number(rt.iat), 1200)
  const id = await verifyIdToken(s, r.id_token, client.id)
  t.equal(id.exp! - id.iat!, 180)
})

t.test('rotation grace period: a rotated token still rotates within it, without revoking the grant', async (t) => {
  const s = await startTokenServer({ config: { oauth2: { grant: { refresh_token: { rotation_grace_period: '1m' } } } } })
  t.teardown(() => s.close())
  t.equal(s.server.context.issue.rotationGraceSeconds, 60)
  const client = await createOidcClient(s)
  const first = await codeTokens(s, client)
  const a = await refresh(s, client, first.refresh_token)
  const b = await refresh(s, client, first.refresh_token)
  t.equal(a.status, 200)
  t.equal(b.status, 200, 'reuse within the grace period is a rotation, not a theft')
  t.not(a.body.refresh_token, b.body.refresh_token)
  t.same(await introspect(s, first.access_token), { active: false }, 'the access token minted with the used refresh token goes')
  t.match(await introspect(s, a.body.access_token), { active: true }, 'the first rotation stands (graceful rotation revokes only its own pair)')
  t.match(await introspect(s, b.body.access_token), { active: true })
  t.same(await introspect(s, first.refresh_token), { active: false }, 'the used refresh token is no longer active at introspection')

  const longer = await startTokenServer({ config: { oauth2: { grant: { refresh_token: { rotation_grace_period: '1h' } } } } })
  t.teardown(() => longer.close())
  t.equal(longer.server.context.issue.rotationGraceSeconds, 300, "clamped to Hydra's 5m")
})
