/**
 * The official Ory SDK (@ory/hydra-client 2.1.x), unmodified, against our admin API: what a Hydra
 * user's code does must work as it is.
 */
import { Configuration, JwkApi, OAuth2Api } from '@ory/hydra-client'
import t from 'tap'
import { errorWith } from './helpers/error-pattern.js'
import { basic, call, startTokenServer } from './helpers/token-server.js'

t.test('Ory SDK: create, get, list, update, patch, delete a client; introspect a token; keys', async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  const oauth2 = new OAuth2Api(new Configuration({ basePath: s.adminUrl }))
  const jwk = new JwkApi(new Configuration({ basePath: s.adminUrl }))

  const { data: created, status } = await oauth2.createOAuth2Client({
    oAuth2Client: { client_name: 'sdk-client', grant_types: ['client_credentials'], scope: 'api', audience: ['https://api.test'], client_secret: 'sdk-secret-1' },
  })
  t.equal(status, 201)
  t.equal(created.client_name, 'sdk-client')
  t.equal(created.client_secret, 'sdk-secret-1')
  const id = created.client_id!

  const { data: got } = await oauth2.getOAuth2Client({ id })
  t.equal(got.client_id, id)
  t.same(got.grant_types, ['client_credentials'])
  t.equal(got.token_endpoint_auth_method, 'client_secret_basic')

  await oauth2.createOAuth2Client({ oAuth2Client: { client_name: 'second' } })
  const { data: page } = await oauth2.listOAuth2Clients({ pageSize: 1 })
  t.equal(page.length, 1)
  const { data: all } = await oauth2.listOAuth2Clients({})
  t.equal(all.length, 2)
  const { data: named } = await oauth2.listOAuth2Clients({ clientName: 'sdk-client' })
  t.same(named.map((c) => c.client_id), [id])

  const { data: updated } = await oauth2.setOAuth2Client({ id, oAuth2Client: { ...got, client_name: 'renamed', scope: 'api other' } })
  t.equal(updated.client_name, 'renamed')
  t.equal(updated.scope, 'api other')
  const { data: patched } = await oauth2.patchOAuth2Client({ id, jsonPatch: [{ op: 'replace', path: '/client_name', value: 'patched' }] })
  t.equal(patched.client_name, 'patched')

  const tok = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials', scope: 'api' }, headers: basic(id, 'sdk-secret-1') })
  t.equal(tok.status, 200, 'the secret survived set and patch')
  const { data: active } = await oauth2.introspectOAuth2Token({ token: tok.body.access_token })
  t.equal(active.active, true)
  t.equal(active.client_id, id)
  t.equal(active.scope, 'api')
  t.equal(active.token_use, 'access_token')
  const { data: scoped } = await oauth2.introspectOAuth2Token({ token: tok.body.access_token, scope: 'other' })
  t.equal(scoped.active, false)

  await oauth2.deleteOAuth2Token({ clientId: id })
  t.equal((await oauth2.introspectOAuth2Token({ token: tok.body.access_token })).data.active, false)

  const { data: set } = await jwk.createJsonWebKeySet({ set: 'sdk-set', createJsonWebKeySet: { alg: 'RS256', kid: 'sdk-key', use: 'sig' } })
  t.equal(set.keys?.[0]?.kid, 'sdk-key')
  t.equal((await jwk.getJsonWebKeySet({ set: 'sdk-set' })).data.keys?.length, 1)

  const { data: spans } = await oauth2.setOAuth2ClientLifespans({ id, oAuth2ClientTokenLifespans: { client_credentials_grant_access_token_lifespan: '90m' } })
  t.equal(spans.client_credentials_grant_access_token_lifespan, '1h30m0s', 'setOAuth2ClientLifespans, in Go duration form')
  const { data: idKeys } = await jwk.getJsonWebKeySet({ set: 'hydra.openid.id-token' })
  t.equal(idKeys.keys?.length, 1, "Hydra's id-token key set exists")

  const del = await oauth2.deleteOAuth2Client({ id })
  t.equal(del.status, 204)
  await t.rejects(oauth2.getOAuth2Client({ id }), errorWith({ response: { status: 404 } }))
})
