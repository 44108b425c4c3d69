import t from 'tap'
import { buildConfigFor } from '../src/config/load.js'
import { ConfigError } from '../src/errors.js'
import { startupProblems, TOKEN_SERVER_CONFIG } from '../src/token-server/config.js'

const build = (raw: unknown, env: NodeJS.ProcessEnv = {}) => buildConfigFor(TOKEN_SERVER_CONFIG, raw, env)

t.test('Hydra defaults', async (t) => {
  const c = build({})
  t.equal(c.serve.public.port, 4444)
  t.equal(c.serve.admin.port, 4445)
  t.equal(c.dsn, 'memory')
  t.equal(c.ttl.access_token, '1h')
  t.equal(c.strategies.access_token, 'opaque')
  t.equal(c.oauth2.hashers.algorithm, 'pbkdf2')
  t.equal(c.oauth2.hashers.pbkdf2.iterations, 25000)
  t.equal(c.oauth2.hashers.bcrypt.cost, 10)
  t.equal(c.oauth2.access_token_prefix, 'ory_at_')
  t.ok(Object.isFrozen(c.serve.public), 'frozen')
})

t.test('serve.shutdown_delay: 0s by default, a duration, SERVE_SHUTDOWN_DELAY', async (t) => {
  t.equal(build({}).serve.shutdown_delay, '0s')
  t.equal(build({}, { SERVE_SHUTDOWN_DELAY: '5s' }).serve.shutdown_delay, '5s')
  t.throws(() => build({ serve: { shutdown_delay: 5 } }), ConfigError)
})

t.test('environment overrides by key path, as Hydra: DSN, SECRETS_SYSTEM (list), SERVE_PUBLIC_PORT, URLS_SELF_ISSUER', async (t) => {
  const c = build({}, {
    DSN: 'sqlite://./data/x.sqlite',
    SECRETS_SYSTEM: 'first-secret-0123456789,second-secret-0123456789',
    SERVE_PUBLIC_PORT: '5444',
    SERVE_ADMIN_HOST: '127.0.0.1',
    URLS_SELF_ISSUER: 'https://auth.test/',
    STRATEGIES_ACCESS_TOKEN: 'jwt',
    TTL_ACCESS_TOKEN: '30m',
    OAUTH2_HASHERS_ALGORITHM: 'bcrypt',
  })
  t.equal(c.dsn, 'sqlite://./data/x.sqlite')
  t.same(c.secrets.system, ['first-secret-0123456789', 'second-secret-0123456789'])
  t.equal(c.serve.public.port, 5444)
  t.equal(c.serve.admin.host, '127.0.0.1')
  t.equal(c.urls.self.issuer, 'https://auth.test/')
  t.equal(c.strategies.access_token, 'jwt')
  t.equal(c.ttl.access_token, '30m')
  t.equal(c.oauth2.hashers.algorithm, 'bcrypt')
})

t.test('every problem is reported at once with its key path', async (t) => {
  let err: unknown
  try {
    build({ secrets: { system: ['short'] }, strategies: { scope: 'regex' }, ttl: { access_token: '60' }, serve: { public: { port: 99999 } }, webfinger: { jwks: {} } })
  } catch (e) {
    err = e
  }
  t.type(err, ConfigError)
  const problems = (err as ConfigError).problems.join('\n')
  t.match(problems, /secrets\.system\.0: must be at least 16 characters long/)
  t.match(problems, /strategies\.scope: must be one of exact, wildcard/)
  t.match(problems, /ttl\.access_token: must be a duration/)
  t.match(problems, /serve\.public\.port: must be <= 65535/)
  t.match(problems, /webfinger\.jwks: Hydra key not supported by the Gatehouse token server/)
})

t.test('start-up checks: a missing system secret and an http issuer outside --dev', async (t) => {
  const c = build({})
  const problems = startupProblems(c, { dev: false })
  t.match(problems[0], /secrets\.system: no system secret is set.*SECRETS_SYSTEM/)
  t.match(problems[1], /urls\.self\.issuer: must be https:\/\/ outside development; run with --dev/)
  t.same(startupProblems(build({ secrets: { system: ['0123456789abcdef'] } }), { dev: true }), [])
  t.same(startupProblems(build({ secrets: { system: ['0123456789abcdef'] }, urls: { self: { issuer: 'https://a.test/' } } }), { dev: false }), [])
  t.match(startupProblems(build({ secrets: { system: ['0123456789abcdef'] }, urls: { self: { issuer: 'not a url' } } }), { dev: true })[0], /not a URL/)
})
