import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { clientCredentials } from '../src/token-server/grants/client-credentials.js'
import { createGrantRegistry, GRANTS, type GrantRegistry } from '../src/token-server/grants/index.js'
import type { Grant } from '../src/token-server/grants/types.js'
import { createRouter } from '../src/token-server/http/router.js'
import { OAuthError } from '../src/token-server/oauth-error.js'
import { discoveryEndpoint } from '../src/token-server/public/discovery.js'
import { tokenEndpoint } from '../src/token-server/public/token.js'
import { newGrantId } from '../src/token-server/tokens/grant-id.js'
import { basic, call, startTokenServer } from './helpers/token-server.js'

/** A stand-in for a grant still to be built: answers with what it read, and counts its runs. */
function echoGrant(): Grant & { runs: number } {
  return {
    grantType: 'refresh_token',
    parameters: new Set(['refresh_token', 'scope', 'audience']),
    repeatable: new Set(['audience']),
    runs: 0,
    async handle(_ctx, client, form) {
      this.runs++
      return { access_token: `${client.client_id}:${form.get('refresh_token')}`, expires_in: 60, scope: form.getAll('audience').join(' '), token_type: 'bearer' }
    },
  }
}

t.test('the registry: get by grant_type; unknown → unsupported_grant_type; mistakes fail at start-up', async (t) => {
  const echo = echoGrant()
  const registry = createGrantRegistry([clientCredentials, echo])
  t.same(registry.types, ['client_credentials', 'refresh_token'], 'in registration order')
  t.equal(registry.get('refresh_token'), echo)
  const err = (() => {
    try {
      registry.get('password')
    } catch (e) {
      return e
    }
  })()
  t.type(err, OAuthError)
  t.match(err, { status: 400, error: 'unsupported_grant_type', description: /'password' is not supported/ })
  t.throws(() => createGrantRegistry([clientCredentials, clientCredentials]), /"client_credentials" is registered twice/)
  t.throws(() => createGrantRegistry([{ ...echo, repeatable: new Set(['resource']) }]), /repeatable parameter "resource" is not one of its parameters/)
  t.same(GRANTS.types, ['authorization_code', 'client_credentials', 'refresh_token'], 'what this version performs')
})

/** The token endpoint and discovery of a running token server, served with another registry. */
async function serveWith(t: Test, grants: GrantRegistry): Promise<{ url: string; admin: string }> {
  const s = await startTokenServer()
  t.teardown(() => s.close())
  const ctx = s.server.context
  const routes = [
    { method: 'POST', path: '/oauth2/token', handler: tokenEndpoint(ctx, grants) },
    { method: 'GET', path: '/.well-known/openid-configuration', handler: discoveryEndpoint(ctx, grants) },
  ]
  const server = createServer(createRouter(routes, ctx.logger))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, admin: s.adminUrl }
}

t.test('the token endpoint runs whatever grant the registry holds, after its checks', async (t) => {
  const echo = echoGrant()
  const s = await serveWith(t, createGrantRegistry([clientCredentials, echo]))
  await call('POST', `${s.admin}/admin/clients`, { json: { client_id: 'app', client_secret: 'secret-app', grant_types: ['refresh_token'] } })
  const auth = basic('app', 'secret-app')
  const form = (over: Record<string, string | string[]>) =>
    call('POST', `${s.url}/oauth2/token`, { form: { grant_type: 'refresh_token', refresh_token: 'r1', ...over }, headers: auth })

  const ok = await form({ audience: ['a', 'b'] })
  t.equal(ok.status, 200, JSON.stringify(ok.body))
  t.same(ok.body, { access_token: 'app:r1', expires_in: 60, scope: 'a b', token_type: 'bearer' }, 'a repeatable parameter may repeat')

  const twice = await form({ refresh_token: ['r1', 'r2'] })
  t.same(twice.body, { error: 'invalid_request', error_description: 'the parameter "refresh_token" is included more than once' })
  const notAllowed = await call('POST', `${s.url}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: auth })
  t.same([notAllowed.status, notAllowed.body.error], [400, 'unauthorized_client'], 'the client must be allowed the grant type')
  t.equal(echo.runs, 1, 'refused requests never reach the grant')

  const discovery = await call('GET', `${s.url}/.well-known/openid-configuration`)
  t.same(discovery.body.grant_types_supported, ['client_credentials', 'refresh_token'], 'discovery lists the registry')
})

t.test('grant ids are UUIDv7: unique, and in time order (appended to the grant_id index, not scattered)', async (t) => {
  const at = Date.UTC(2026, 0, 1)
  const ids = [newGrantId(at), newGrantId(at + 1), newGrantId(at + 60_000), newGrantId(at + 86_400_000)]
  for (const id of ids) t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.same([...ids].sort(), ids, 'later ids sort after earlier ones')
  t.equal(ids[0]!.slice(0, 13).replace('-', ''), at.toString(16).padStart(12, '0'), 'the first 48 bits are the milliseconds')
  t.equal(new Set(Array.from({ length: 1000 }, () => newGrantId(at))).size, 1000, 'unique within one millisecond')
})
