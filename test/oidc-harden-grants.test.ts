/**
 * Revocation racing issuance (review finding 2) and refresh rotation interrupted between consume
 * and rotated (finding 8). The interleavings are forced with gates in the store, not timing.
 */
import t, { type Test } from 'tap'
import type { OidcModel, OidcRecord, OidcRecords } from '../src/token-server/oidc/records.js'
import { revokeGrant } from '../src/token-server/oidc/issue/revoke-grant.js'
import { STALLED_ROTATION_SECONDS } from '../src/token-server/grants/refresh-token.js'
import { authorize, createOidcClient, exchange, granted, introspect, token } from './helpers/oidc.js'
import { forEachStore, startTokenServer, type RunningTokenServer } from './helpers/token-server.js'

/** A one-shot gate: `reached` resolves when the paused call gets there; `release` lets it go on. */
function gate(): { reached: Promise<void>; arrive: () => void; release: () => void; wait: Promise<void> } {
  let arrive!: () => void
  let release!: () => void
  const reached = new Promise<void>((r) => (arrive = r))
  const wait = new Promise<void>((r) => (release = r))
  return { reached, arrive, release, wait }
}

async function server(t: Test): Promise<RunningTokenServer> {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  return s
}

forEachStore(t, 'a code replayed while its first exchange is minting: the first exchange ends in invalid_grant and nothing it minted survives', async (t, s) => {
  const client = await createOidcClient(s)
  const g = granted(client.id)
  const code = (await authorize(s, g)).code!
  const records: OidcRecords = s.server.context.store.oidc
  const consume = records.consume.bind(records)
  const g1 = gate()
  let paused = false
  // Exchange A is held between consuming the code and writing its tokens.
  records.consume = async (model: OidcModel, id: string, now: number) => {
    const r = await consume(model, id, now)
    if (model === 'auth_code' && !paused) {
      paused = true
      g1.arrive()
      await g1.wait
    }
    return r
  }
  const a = exchange(s, client, code)
  await g1.reached
  const b = await exchange(s, client, code)
  t.equal(b.status, 400)
  t.match(b.body.error_description, /The authorization code has already been used\.$/)
  g1.release()
  const answer = await a
  t.equal(answer.status, 400, `A does not get tokens: ${JSON.stringify(answer.body)}`)
  t.equal(answer.body.error, 'invalid_grant')
  t.same(await s.server.context.store.oidc.find('grant', g.grant_id, 0), undefined, 'the grant state was not recreated')
  t.equal((await s.server.context.store.revokeByGrantId(g.grant_id)).length, 0, 'no token of the grant is left')
})

forEachStore(t, 'a grant revoked while a refresh is minting: the refresh ends in invalid_grant and the grant stays revoked', async (t, s) => {
  const client = await createOidcClient(s)
  const g = granted(client.id)
  const first = await exchange(s, client, (await authorize(s, g)).code!)
  t.equal(first.status, 200)
  const records: OidcRecords = s.server.context.store.oidc
  const upsert = records.upsert.bind(records)
  const g1 = gate()
  let paused = false
  // The refresh is held after its new tokens are written, before their rotation record.
  records.upsert = async (record: OidcRecord) => {
    if (record.model === 'refresh_token' && record.consumed_at === undefined && !paused) {
      paused = true
      g1.arrive()
      await g1.wait
    }
    return upsert(record)
  }
  const a = token(s, client, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token })
  await g1.reached
  await revokeGrant(s.server.context, g.grant_id, 'test')
  g1.release()
  const answer = await a
  t.equal(answer.status, 400, JSON.stringify(answer.body))
  t.equal(answer.body.error, 'invalid_grant')
  t.same(await records.find('grant', g.grant_id, 0), undefined, 'the grant state was not recreated')
  t.same(await records.findBy('refresh_token', { grant_id: g.grant_id }, 0), [], 'no rotation record of the grant is left')
  t.equal((await s.server.context.store.revokeByGrantId(g.grant_id)).length, 0, 'no token of the grant is left')
  t.same(await introspect(s, first.body.access_token), { active: false })
})

t.test('a rotation interrupted between consume and rotated: a retry soon after is "concurrent", a later one is a reuse that revokes the grant', async (t) => {
  const s = await server(t)
  const client = await createOidcClient(s)
  const records = s.server.context.store.oidc
  const interrupted = async (ago: number) => {
    const g = granted(client.id)
    const res = await exchange(s, client, (await authorize(s, g)).code!)
    const hash = (await s.server.context.tokens.signatureHashOf(res.body.refresh_token))!
    // What a process that died right after consuming leaves behind: consumed, never marked rotated.
    const taken = await records.consume('refresh_token', hash, Math.floor(Date.now() / 1000) - ago)
    t.equal(taken.status, 'first')
    return { g, res }
  }
  const recent = await interrupted(1)
  const retry = await token(s, client, { grant_type: 'refresh_token', refresh_token: recent.res.body.refresh_token })
  t.same([retry.status, retry.body.error], [400, 'invalid_request'])
  t.match(retry.body.error_description, /multiple concurrent requests/)
  t.match(await introspect(s, recent.res.body.access_token), { active: true }, 'nothing revoked while the rotation may still finish')

  const stalled = await interrupted(STALLED_ROTATION_SECONDS + 1)
  const late = await token(s, client, { grant_type: 'refresh_token', refresh_token: stalled.res.body.refresh_token })
  t.same([late.status, late.body.error], [400, 'invalid_grant'])
  t.match(late.body.error_description, /The refresh token was already used\.$/)
  t.same(await introspect(s, stalled.res.body.access_token), { active: false }, 'the grant is revoked')
  t.same(await records.find('grant', stalled.g.grant_id, 0), undefined)
})
