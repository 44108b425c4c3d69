import t, { type Test } from 'tap'
import { basic, call, forEachStore, type Answer, type RunningTokenServer } from './helpers/token-server.js'

// Every way a client can fail to authenticate at the two endpoints that authenticate clients
// (RFC 6749 §2.3, §5.2; RFC 7009 §2.1), for every method the server accepts, on every store.
// The answers are fosite's: 401 invalid_client, the same description whether or not the client
// exists, WWW-Authenticate only when the client tried HTTP Basic.

const AUTH_FAILED = {
  error: 'invalid_client',
  error_description: 'Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method).',
}
const mismatch = (registered: string, requested: string) => ({
  error: 'invalid_client',
  error_description:
    `The OAuth 2.0 Client supports client authentication method '${registered}', but method '${requested}' was requested. ` +
    `You must configure the OAuth 2.0 client's 'token_endpoint_auth_method' value to accept '${requested}'.`,
})
const BASIC_REALM = 'Basic realm="oauth2"'

interface Case {
  readonly name: string
  readonly form?: Record<string, string>
  readonly headers?: Record<string, string>
  readonly body: { error: string; error_description: string }
  /** The client tried HTTP Basic, so the answer names the scheme (RFC 6749 §5.2). */
  readonly basicChallenge: boolean
}

const CASES: readonly Case[] = [
  // client_secret_post
  { name: 'post: wrong secret', form: { client_id: 'poster', client_secret: 'wrong-secret' }, body: AUTH_FAILED, basicChallenge: false },
  { name: 'post: empty secret', form: { client_id: 'poster', client_secret: '' }, body: AUTH_FAILED, basicChallenge: false },
  { name: 'post: secret in another case', form: { client_id: 'poster', client_secret: 'SECRET-P' }, body: AUTH_FAILED, basicChallenge: false },
  { name: 'post: another client’s secret', form: { client_id: 'poster', client_secret: 'secret-b' }, body: AUTH_FAILED, basicChallenge: false },
  { name: 'post: secret missing', form: { client_id: 'poster' }, body: mismatch('client_secret_post', 'none'), basicChallenge: false },
  { name: 'post: unknown client', form: { client_id: 'ghost', client_secret: 'secret-p' }, body: AUTH_FAILED, basicChallenge: false },
  { name: 'post: client_id missing', form: { client_secret: 'secret-p' }, body: AUTH_FAILED, basicChallenge: false },
  { name: 'post: client_id empty', form: { client_id: '', client_secret: 'secret-p' }, body: AUTH_FAILED, basicChallenge: false },
  { name: 'post: client registered with basic', form: { client_id: 'basic', client_secret: 'secret-b' }, body: mismatch('client_secret_basic', 'client_secret_post'), basicChallenge: false },
  // client_secret_basic
  { name: 'basic: wrong secret', headers: basic('basic', 'wrong-secret'), body: AUTH_FAILED, basicChallenge: true },
  { name: 'basic: empty secret', headers: basic('basic', ''), body: AUTH_FAILED, basicChallenge: true },
  {
    name: 'basic: secret missing (no colon)',
    headers: { authorization: `Basic ${Buffer.from('basic').toString('base64')}` },
    body: { error: 'invalid_client', error_description: 'The Authorization header is not valid HTTP Basic credentials.' },
    basicChallenge: true,
  },
  { name: 'basic: unknown client', headers: basic('ghost', 'secret-b'), body: AUTH_FAILED, basicChallenge: true },
  { name: 'basic: empty client id', headers: basic('', 'secret-b'), body: AUTH_FAILED, basicChallenge: true },
  { name: 'basic: client registered with post', headers: basic('poster', 'secret-p'), body: mismatch('client_secret_post', 'client_secret_basic'), basicChallenge: true },
  // none
  { name: 'none: client registered with basic', form: { client_id: 'basic' }, body: mismatch('client_secret_basic', 'none'), basicChallenge: false },
  { name: 'none: unknown client', form: { client_id: 'ghost' }, body: AUTH_FAILED, basicChallenge: false },
  { name: 'no client authentication at all', form: {}, body: AUTH_FAILED, basicChallenge: false },
  { name: 'public client sending a secret by post', form: { client_id: 'public', client_secret: 'anything' }, body: mismatch('none', 'client_secret_post'), basicChallenge: false },
  { name: 'public client sending a secret by basic', headers: basic('public', 'anything'), body: mismatch('none', 'client_secret_basic'), basicChallenge: true },
  // private_key_jwt is not supported (clients cannot register with it): an assertion authenticates nobody.
  {
    name: 'private_key_jwt assertion',
    form: { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' },
    body: AUTH_FAILED,
    basicChallenge: false,
  },
  {
    name: 'private_key_jwt assertion naming a client',
    form: { client_id: 'poster', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' },
    body: mismatch('client_secret_post', 'none'),
    basicChallenge: false,
  },
]

async function setUp(s: RunningTokenServer): Promise<{ posterToken: string; basicToken: string }> {
  const create = async (body: Record<string, unknown>) => {
    const r = await call('POST', `${s.adminUrl}/admin/clients`, { json: body })
    if (r.status !== 201) throw new Error(`client not created: ${JSON.stringify(r.body)}`)
  }
  await create({ client_id: 'poster', client_secret: 'secret-p', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_post' })
  await create({ client_id: 'basic', client_secret: 'secret-b', grant_types: ['client_credentials'] })
  await create({ client_id: 'public', grant_types: ['authorization_code'], redirect_uris: ['https://app.test/cb'], token_endpoint_auth_method: 'none' })
  const posterToken = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials', client_id: 'poster', client_secret: 'secret-p' } })
  const basicToken = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials' }, headers: basic('basic', 'secret-b') })
  if (posterToken.status !== 200 || basicToken.status !== 200) throw new Error('the right secrets must work')
  return { posterToken: posterToken.body.access_token, basicToken: basicToken.body.access_token }
}

function expectFailure(t: Test, r: Answer, c: Case): void {
  t.equal(r.status, 401, `${c.name}: 401`)
  t.same(r.body, c.body, `${c.name}: the exact body`)
  t.equal(r.headers['www-authenticate'], c.basicChallenge ? BASIC_REALM : undefined, `${c.name}: WWW-Authenticate ${c.basicChallenge ? 'names Basic' : 'absent'}`)
  t.equal(r.headers['cache-control'], 'no-store', `${c.name}: no-store`)
}
/** The client id a case presents, by form or by HTTP Basic. */
function namedClient(c: Case): string | undefined {
  const auth = c.headers?.authorization
  if (auth === undefined) return c.form?.client_id
  return decodeURIComponent(Buffer.from(auth.slice('Basic '.length), 'base64').toString('utf8').split(':')[0]!)
}

// The failure limiter would answer 429 long before the cases run out; it has its own tests.
const NO_LIMITS = { oauth2: { client_auth_limits: { per_client: 10_000, per_address: 10_000, window: '1m' } } }

forEachStore(
  t,
  'POST /oauth2/token: every failed client authentication is 401 invalid_client, and no token',
  async (t, s) => {
    await setUp(s)
    for (const c of CASES) {
      const r = await call('POST', `${s.publicUrl}/oauth2/token`, { form: { grant_type: 'client_credentials', ...c.form }, ...(c.headers ? { headers: c.headers } : {}) })
      expectFailure(t, r, c)
      t.notOk('access_token' in (r.body as object), `${c.name}: no token`)
    }
  },
  NO_LIMITS,
)

forEachStore(
  t,
  'POST /oauth2/revoke: every failed client authentication is 401 invalid_client, and nothing is revoked',
  async (t, s) => {
    const { posterToken, basicToken } = await setUp(s)
    for (const c of CASES) {
      // The token of the client the case names (or pretends to be), so a wrongly accepted call would revoke it.
      const target = namedClient(c) === 'poster' ? posterToken : basicToken
      const r = await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token: target, ...c.form }, ...(c.headers ? { headers: c.headers } : {}) })
      expectFailure(t, r, c)
    }
    for (const [name, tok] of [['poster', posterToken], ['basic', basicToken]] as const) {
      const i = await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: tok } })
      t.equal(i.body.active, true, `${name}'s token is still active`)
    }
    // And the right credentials still work, by each client's own method.
    t.equal((await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token: posterToken, client_id: 'poster', client_secret: 'secret-p' } })).status, 200)
    t.equal((await call('POST', `${s.publicUrl}/oauth2/revoke`, { form: { token: basicToken }, headers: basic('basic', 'secret-b') })).status, 200)
    for (const tok of [posterToken, basicToken]) {
      t.equal((await call('POST', `${s.adminUrl}/admin/oauth2/introspect`, { form: { token: tok } })).body.active, false, 'revoked by its owner')
    }
  },
  NO_LIMITS,
)

forEachStore(t, 'private_key_jwt cannot be registered (this server cannot verify assertions)', async (t, s) => {
  const r = await call('POST', `${s.adminUrl}/admin/clients`, { json: { client_id: 'pkj', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt' } })
  t.equal(r.status, 400)
  t.equal(r.body.error, 'invalid_client_metadata')
})
