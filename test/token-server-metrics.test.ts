import t from 'tap'
import { basic, call, startTokenServer } from './helpers/token-server.js'

/** The value of one sample line, e.g. `name{a="b"} 3`; undefined when absent. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((kv) => l.includes(kv)))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

t.test('admin /admin/metrics/prometheus: tokens issued, introspections, revocations, auth failures, store latency, requests', async (t) => {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: 'svc', client_secret: 'secret-1', grant_types: ['client_credentials'] } })
  const tokens = []
  for (let i = 0; i < 3; i++) {
    tokens.push((await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('svc', 'secret-1') })).body.access_token)
  }
  await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('svc', 'wrong') })
  await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: tokens[0] } })
  await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: 'garbage' } })
  await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token: tokens[1] }, headers: basic('svc', 'secret-1') })
  await call('DELETE', `${s.adminUrl}/admin/oauth2/tokens?client_id=svc`)

  const m = await call('GET', `${s.adminUrl}/admin/metrics/prometheus`)
  t.equal(m.status, 200)
  t.match(String(m.headers['content-type']), /text\/plain/)
  const text: string = m.body
  t.equal(sample(text, 'gatehouse_token_server_tokens_issued_total', 'grant_type="client_credentials",strategy="opaque"'), 3)
  t.equal(sample(text, 'gatehouse_token_server_introspections_total', 'active="true"'), 1)
  t.equal(sample(text, 'gatehouse_token_server_introspections_total', 'active="false"'), 1)
  t.equal(sample(text, 'gatehouse_token_server_revocations_total', 'via="revoke_endpoint"'), 1)
  t.equal(sample(text, 'gatehouse_token_server_revocations_total', 'via="admin_delete_tokens"'), 2, 'the two tokens left')
  t.equal(sample(text, 'gatehouse_token_server_client_auth_failures_total', 'endpoint="token"'), 1)
  t.ok((sample(text, 'gatehouse_token_server_store_duration_seconds_count', 'operation="insertToken",outcome="ok"') ?? 0) >= 3)
  t.equal(sample(text, 'gatehouse_token_server_http_requests_total', 'api="public",route="/oauth2/token",status="200"'), 3)
  t.equal(sample(text, 'gatehouse_token_server_http_requests_total', 'api="public",route="/oauth2/token",status="401"'), 1)
  t.equal((await call('GET', `${s.publicUrl}/admin/metrics/prometheus`)).status, 404, 'not on the public port')
})
