import t from 'tap'
import { buildConfigFor } from '../src/config/load.js'
import { ConfigError } from '../src/errors.js'
import { startupProblems, TOKEN_SERVER_CONFIG } from '../src/token-server/config.js'
import { issueSettings } from '../src/token-server/oidc/issue/settings.js'

const build = (raw: unknown, env: NodeJS.ProcessEnv = {}) => buildConfigFor(TOKEN_SERVER_CONFIG, raw, env)

t.test("Hydra's OpenID Connect keys and defaults", async (t) => {
  const c = build({})
  t.same(c.ttl, { access_token: '1h', refresh_token: '720h', id_token: '1h', auth_code: '10m', login_consent_request: '30m', authentication_session: '720h' })
  t.equal(c.oauth2.grant.refresh_token.rotation_grace_period, '0s')
  t.same(c.oidc.subject_identifiers.supported_types, ['public'])
  const s = issueSettings(c)
  t.same([s.authCodeSeconds, s.idTokenSeconds, s.refreshTokenSeconds, s.rotationGraceSeconds], [600, 3600, 2_592_000, 0])
  t.same(s.scopesSupported, ['offline_access', 'offline', 'openid'])
  t.equal(s.publicUrl, c.urls.self.issuer, 'urls.self.public falls back to the issuer')
})

t.test('environment overrides by key path', async (t) => {
  const c = build({}, {
    TTL_REFRESH_TOKEN: '24h',
    TTL_ID_TOKEN: '30m',
    TTL_AUTH_CODE: '1m',
    OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_PERIOD: '10s',
    OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES: 'public,pairwise',
    OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT: 'a-pairwise-salt',
    URLS_SELF_PUBLIC: 'https://public.test/',
  })
  const s = issueSettings(c)
  t.same([s.refreshTokenSeconds, s.idTokenSeconds, s.authCodeSeconds, s.rotationGraceSeconds], [86_400, 1800, 60, 10])
  t.same(s.subjectTypes, ['public', 'pairwise'])
  t.equal(s.userinfoUrl, 'https://public.test/userinfo')
})

t.test('bad values are refused; pairwise needs an 8-character salt; Hydra keys still not served say so', async (t) => {
  t.throws(() => build({ ttl: { auth_code: 'soon' } }), ConfigError)
  t.throws(() => build({ oidc: { subject_identifiers: { supported_types: ['secret'] } } }), ConfigError)
  const short = build({ oidc: { subject_identifiers: { supported_types: ['pairwise'], pairwise: { salt: 'short' } } }, secrets: { system: ['a-system-secret-0123456789'] } })
  t.match(startupProblems(short, { dev: true }), [/oidc\.subject_identifiers\.pairwise\.salt: .*at least 8 characters/])
  const err = (() => {
    try {
      build({ oidc: { dynamic_client_registration: { enabled: true } }, webfinger: { jwks: { broadcast_keys: [] } } })
    } catch (e) {
      return e as ConfigError
    }
  })()
  t.type(err, ConfigError)
  t.match(err!.problems.join('\n'), /oidc\.dynamic_client_registration: Hydra key not supported by the Gatehouse token server/)
  t.match(err!.problems.join('\n'), /webfinger\.jwks: Hydra key not supported by the Gatehouse token server/)
})
