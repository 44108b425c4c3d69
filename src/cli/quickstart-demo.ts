import { request } from 'undici'
import type { LoginAppConfig } from '../login-app/config.js'
import type { TokenServerConfig } from '../token-server/config.js'

/**
 * The quickstart's demo client, registered at every start through the admin API (as a user would
 * with `gatehouse create client`): a public client (PKCE, no secret) whose redirect URIs are the
 * login app's demo callback and `perform authorization-code`'s local callback (Hydra's port 5555).
 */
export function demoClient(loginApp: LoginAppConfig): Record<string, unknown> {
  const self = new URL(loginApp.urls.self)
  return {
    client_id: loginApp.demo.client_id,
    client_name: 'Gatehouse demo app',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: loginApp.demo.scope,
    redirect_uris: [new URL('callback', self).href, 'http://127.0.0.1:5555/callback'],
    post_logout_redirect_uris: [self.href],
    token_endpoint_auth_method: 'none',
  }
}

/**
 * Creates the client, or replaces it when it exists (a quickstart started before), so its settings
 * are always the ones above. Throws with the admin API's answer when it refuses.
 */
export async function registerDemoClient(ts: TokenServerConfig, client: Record<string, unknown>): Promise<void> {
  const host = ts.serve.admin.host === '' || ts.serve.admin.host === '0.0.0.0' ? '127.0.0.1' : ts.serve.admin.host
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${ts.serve.admin.port}/admin/clients`
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  const key = ts.serve.admin.auth.api_keys[0]
  if (key !== undefined) headers.authorization = `Bearer ${key}`
  const body = JSON.stringify(client)
  let res = await request(base, { method: 'POST', headers, body })
  if (res.statusCode === 409) {
    await res.body.dump()
    res = await request(`${base}/${encodeURIComponent(String(client.client_id))}`, { method: 'PUT', headers, body })
  }
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`registering the demo client ${String(client.client_id)}: the admin API answered ${res.statusCode} ${text}`)
}
