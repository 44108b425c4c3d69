/**
 * kill -9 of the token server right after its 200 to a code exchange, and again right after its
 * 200 to a refresh: after a restart on the same SQLite file / Postgres schema, the tokens of
 * each answer introspect active and the refresh token refreshes. A 200 means durable.
 */
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { request } from 'undici'
import { Browser, param } from './helpers/oidc-flow.js'
import { forEachProcessStore, ISSUER, prepareServer, signIn, type ServerProcess } from './helpers/oidc-process.js'
import { call } from './helpers/token-server.js'

const REDIRECT = 'https://rp.example.test/cb'

interface Tokens {
  access_token: string
  refresh_token: string
  id_token: string
}

/** POSTs to the token endpoint and SIGKILLs the server in the same tick as reading a 200. */
async function tokenThenKill(s: ServerProcess, form: Record<string, string>): Promise<Tokens> {
  const exited = new Promise<NodeJS.Signals | null>((r) => s.child.once('exit', (_c, signal) => r(signal)))
  const res = await request(`${s.publicUrl}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  })
  const body = (await res.body.json()) as Tokens
  if (res.statusCode === 200) s.child.kill('SIGKILL')
  else throw new Error(`token endpoint answered ${res.statusCode}: ${JSON.stringify(body)}`)
  if ((await exited) !== 'SIGKILL') throw new Error('the server was not killed')
  return body
}

async function introspect(s: ServerProcess, token: string): Promise<Record<string, unknown>> {
  return (await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token } })).body as Record<string, unknown>
}

forEachProcessStore(t, 'kill -9 right after the 200 of a code exchange and of a refresh loses nothing', 180_000, async (t, store) => {
  const prepared = await prepareServer(t, store)
  const first = await prepared.serve()
  const created = await call('POST', `${first.adminUrl}/admin/clients`, {
    json: { client_id: 'rp', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: [REDIRECT], scope: 'openid offline_access' },
  })
  t.equal(created.status, 201)

  const verifier = randomBytes(32).toString('base64url')
  const url = new URL(`${ISSUER}oauth2/auth`)
  for (const [k, v] of Object.entries({
    client_id: 'rp', response_type: 'code', redirect_uri: REDIRECT, scope: 'openid offline_access', state: 'state-0123456789', nonce: 'nonce-0123456789',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  })) url.searchParams.set(k, v)
  const code = param((await signIn(first, new Browser(), url)).location, 'code')!
  t.match(code, /^ory_ac_/)

  const issued = await tokenThenKill(first, { grant_type: 'authorization_code', client_id: 'rp', code, redirect_uri: REDIRECT, code_verifier: verifier })
  const second = await prepared.serve()
  t.match(await introspect(second, issued.access_token), { active: true, client_id: 'rp', token_use: 'access_token' }, 'the exchanged access token survived')
  t.match(await introspect(second, issued.refresh_token), { active: true, client_id: 'rp', token_use: 'refresh_token' }, 'the exchanged refresh token survived')
  // The code itself was consumed before the 200: it is not usable again after the restart.
  const again = await call('POST', `${second.publicUrl}/oauth2/token`, { form: { grant_type: 'authorization_code', client_id: 'rp', code, redirect_uri: REDIRECT, code_verifier: verifier } })
  t.equal(again.status, 400)
  t.equal(again.body.error, 'invalid_grant')
  // …and that reuse revoked what the code gave (Hydra): take a fresh grant for the refresh part.
  t.same(await introspect(second, issued.access_token), { active: false })

  const verifier2 = randomBytes(32).toString('base64url')
  url.searchParams.set('code_challenge', createHash('sha256').update(verifier2).digest('base64url'))
  const code2 = param((await signIn(second, new Browser(), url)).location, 'code')!
  const exchanged = await call('POST', `${second.publicUrl}/oauth2/token`, { form: { grant_type: 'authorization_code', client_id: 'rp', code: code2, redirect_uri: REDIRECT, code_verifier: verifier2 } })
  t.equal(exchanged.status, 200)

  const refreshed = await tokenThenKill(second, { grant_type: 'refresh_token', client_id: 'rp', refresh_token: exchanged.body.refresh_token })
  const third = await prepared.serve()
  t.match(await introspect(third, refreshed.access_token), { active: true, token_use: 'access_token' }, 'the refreshed access token survived')
  t.match(await introspect(third, refreshed.refresh_token), { active: true, token_use: 'refresh_token' }, 'the rotated refresh token survived')
  t.same(await introspect(third, exchanged.body.refresh_token), { active: false }, 'the rotation survived too: the old refresh token is gone')
  const next = await call('POST', `${third.publicUrl}/oauth2/token`, { form: { grant_type: 'refresh_token', client_id: 'rp', refresh_token: refreshed.refresh_token } })
  t.equal(next.status, 200, 'the refresh token of the killed answer refreshes')
  t.match(next.body, { access_token: /^ory_at_/, refresh_token: /^ory_rt_/, id_token: /\./ })
  await third.stop()
  t.equal(third.child.exitCode, 0)
})
