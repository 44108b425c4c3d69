import t from 'tap'
import { Ajv } from 'ajv'
import type { IncomingHttpHeaders } from 'node:http'
import { pino } from 'pino'
import { ConfigError, GatehouseError } from '../src/errors.js'
import { authenticators } from '../src/pipeline/authn/index.js'
import { authorizers } from '../src/pipeline/authz/index.js'
import { errorHandlers } from '../src/pipeline/errors/index.js'
import { mutators } from '../src/pipeline/mutate/index.js'
import type { Registry } from '../src/pipeline/registry.js'
import { newSession, type PipelineRequest } from '../src/pipeline/session.js'
import { SharedResources } from '../src/pipeline/shared.js'
import type { HandlerDeps, HandlerDef } from '../src/pipeline/types.js'
import { Agent } from 'undici'

const deps: HandlerDeps = { logger: pino({ level: 'silent' }), http: new Agent(), shared: new SharedResources() }

function req(headers: IncomingHttpHeaders = {}, url = 'http://gw.test/users/42'): PipelineRequest {
  return { method: 'GET', url: new URL(url), headers, remoteAddress: '127.0.0.1', requestId: 'req-7' }
}

/** Validates (with defaults, as the rule compiler does) and creates, like a rule load would. */
function build<Fn>(registry: Registry<HandlerDef<any, Fn>>, id: string, config: Record<string, unknown> = {}): Fn {
  const def = registry.get(id)
  const validate = new Ajv({ useDefaults: true, strict: true, allowUnionTypes: true }).compile(def.schema)
  const merged = structuredClone(config)
  if (!validate(merged)) throw new Error(`${id}: ${JSON.stringify(validate.errors)}`)
  return def.create(merged, deps)
}

const all = (): Array<Registry<HandlerDef<unknown, unknown>>> => [authenticators(), authorizers(), mutators(), errorHandlers()]

t.test('registries list their ids; an unknown id is a ConfigError listing the known ones', async (t) => {
  t.same(authenticators().ids(), ['noop', 'anonymous', 'unauthorized', 'oauth2_introspection', 'jwt', 'bearer_token', 'cookie_session', 'oauth2_client_credentials'])
  t.same(authorizers().ids(), ['allow', 'deny', 'remote', 'remote_json'])
  t.same(mutators().ids(), ['noop', 'header', 'cookie', 'hydrator', 'id_token'])
  t.same(errorHandlers().ids(), ['json', 'redirect', 'www_authenticate'])
  t.throws(
    () => authenticators().get('jwtt'),
    new ConfigError('unknown authenticator handler "jwtt" (known: noop, anonymous, unauthorized, oauth2_introspection, jwt, bearer_token, cookie_session, oauth2_client_credentials)'),
  )
  t.throws(() => mutators().get('cookies'), new ConfigError('unknown mutator handler "cookies" (known: noop, header, cookie, hydrator, id_token)'))
  t.not(authenticators(), authenticators(), 'a new registry per call')
})

t.test('every schema compiles under strict ajv and rejects unknown keys', async (t) => {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true })
  for (const registry of all()) {
    for (const id of registry.ids()) {
      const schema = registry.get(id).schema as { required?: string[] }
      const validate = ajv.compile(schema)
      t.equal(validate({ typo: 1 }), false, `${registry.kind} ${id}: typo caught`)
      // Handlers without required keys work with no config at all; the others say what is missing.
      if ((schema.required ?? []).length === 0) t.ok(validate({}), `${registry.kind} ${id}: {} is valid`)
      else t.notOk(validate({}), `${registry.kind} ${id}: {} lacks ${schema.required!.join(', ')}`)
    }
  }
  const header = ajv.compile(mutators().get('header').schema)
  t.notOk(header({}), 'header needs headers')
  t.notOk(header({ headers: { 'X-A': 1 } }), 'header templates are strings')
})

t.test('authn noop → authenticated with an empty session', async (t) => {
  const session = newSession(req(), [])
  t.equal(build(authenticators(), 'noop')(req(), session), true)
  t.equal(session.Subject, '')
  t.same(session.Extra, {})
})

t.test('anonymous: default subject, custom subject, not responsible with Authorization', async (t) => {
  const s1 = newSession(req(), [])
  t.equal(build(authenticators(), 'anonymous')(req(), s1), true)
  t.equal(s1.Subject, 'anonymous', 'schema default')

  const guest = build(authenticators(), 'anonymous', { subject: 'guest' })
  const s2 = newSession(req(), [])
  t.equal(guest(req(), s2), true)
  t.equal(s2.Subject, 'guest')

  const s3 = newSession(req(), [])
  t.equal(build(authenticators(), 'anonymous', { subject: '' })(req(), s3), true)
  t.equal(s3.Subject, 'anonymous', 'an empty subject falls back, as in Oathkeeper')

  const withAuth = req({ authorization: 'Bearer abc' })
  const s4 = newSession(withAuth, [])
  t.equal(guest(withAuth, s4), false, 'not responsible')
  t.equal(s4.Subject, '', 'session untouched')
  t.equal(guest(req({ authorization: '' }), newSession(req(), [])), true, 'an empty Authorization counts as absent')
})

t.test('unauthorized → GATEHOUSE_ERR_UNAUTHORIZED (401)', async (t) => {
  const run = build(authenticators(), 'unauthorized')
  const err = t.throws(() => run(req(), newSession(req(), []))) as GatehouseError
  t.type(err, GatehouseError)
  t.equal(err.code, 'GATEHOUSE_ERR_UNAUTHORIZED')
  t.equal(err.status, 401)
})

t.test('allow passes, deny → GATEHOUSE_ERR_FORBIDDEN (403)', async (t) => {
  t.equal(build(authorizers(), 'allow')(req(), newSession(req(), [])), undefined)
  const err = t.throws(() => build(authorizers(), 'deny')(req(), newSession(req(), []))) as GatehouseError
  t.equal(err.code, 'GATEHOUSE_ERR_FORBIDDEN')
  t.equal(err.status, 403)
  t.equal(err.kind, 'forbidden')
})

t.test('mutator noop leaves the session headers alone', async (t) => {
  const session = newSession(req(), [])
  build(mutators(), 'noop')(req(), session)
  t.same(session.Header, {})
})

t.test('header mutator renders Subject, Extra, captures and request headers', async (t) => {
  const run = build(mutators(), 'header', {
    headers: {
      'X-User': '{{ print .Subject }}',
      'X-Tenant': '{{ .Extra.tenant }}',
      'X-Id': 'user-{{ index .MatchContext.RegexpCaptureGroups 0 }}',
      'X-Agent': '{{ .MatchContext.Header.Get "User-Agent" }}',
    },
  })
  const r = req({ 'user-agent': 'curl/8' })
  const session = newSession(r, ['42'])
  session.Subject = 'alice'
  session.Extra = { tenant: 'acme' }
  await run(r, session)
  t.same(session.Header, { 'X-User': 'alice', 'X-Tenant': 'acme', 'X-Id': 'user-42', 'X-Agent': 'curl/8' })
})

t.test('header mutator rejects rendered CR/LF/NUL and never sets the header', async (t) => {
  const run = build(mutators(), 'header', { headers: { 'X-Ok': 'fine', 'X-Tenant': '{{ .Extra.tenant }}' } })
  for (const bad of ['acme\r\nX-Admin: true', 'a\nb', 'a\u0000b']) {
    const session = newSession(req(), [])
    session.Extra = { tenant: bad }
    const err = t.throws(() => run(req(), session)) as GatehouseError
    t.type(err, GatehouseError)
    t.equal(err.code, 'GATEHOUSE_ERR_TEMPLATE')
    t.match(err.reason, /header "X-Tenant"/)
    t.notOk('X-Tenant' in session.Header, 'not set')
  }
  const session = newSession(req(), [])
  session.Extra = { tenant: 'tab\tis fine' }
  run(req(), session)
  t.equal(session.Header['X-Tenant'], 'tab\tis fine')
})

t.test('header mutator: bad header name or unknown template function → ConfigError at create', async (t) => {
  const create = (headers: Record<string, string>) => () => mutators().get('header').create({ headers }, deps)
  const name = t.throws(create({ 'X User': 'x', 'X:Y': 'y' })) as ConfigError
  t.type(name, ConfigError)
  t.match(name.message, /^invalid headers:/)
  t.same(name.problems, ['headers: "X User" is not a valid header name', 'headers: "X:Y" is not a valid header name'])
  const fn = t.throws(create({ 'X-User': '{{ nosuchfunc .Subject }}' })) as ConfigError
  t.type(fn, ConfigError)
  t.match(fn.message, /X-User/)
  t.match(fn.message, /nosuchfunc/)
})

const notFound = new GatehouseError('GATEHOUSE_ERR_NO_RULE', {
  reason: 'no rule matches GET http://gw.test/x?a=<b>&c',
  details: { url: 'http://gw.test/x' },
})

t.test('json error handler, not verbose: exact Oathkeeper body', async (t) => {
  const res = build(errorHandlers(), 'json')(notFound, req())
  t.equal(res.status, 404)
  t.same(res.headers, { 'content-type': 'application/json' })
  t.equal(res.body, '{"error":{"code":404,"status":"Not Found","message":"Requested url does not match any rules"}}\n')
})

t.test('json error handler, verbose: request, reason and details in herodot order', async (t) => {
  const handle = build(errorHandlers(), 'json', { verbose: true })
  t.equal(
    handle(notFound, req()).body,
    '{"error":{"code":404,"status":"Not Found","request":"req-7",' +
      '"reason":"no rule matches GET http://gw.test/x?a=\\u003cb\\u003e\\u0026c",' +
      '"details":{"url":"http://gw.test/x"},"message":"Requested url does not match any rules"}}\n',
  )
  t.equal(
    handle(new GatehouseError('GATEHOUSE_ERR_FORBIDDEN'), req()).body,
    '{"error":{"code":403,"status":"Forbidden","request":"req-7","message":"Access credentials are not sufficient to access this resource"}}\n',
    'absent reason and details are left out',
  )
})

t.test('json error handler copies the error headers', async (t) => {
  const limited = new GatehouseError('GATEHOUSE_ERR_TOO_MANY_REQUESTS', {
    headers: { 'Retry-After': '30', 'Content-Type': 'text/plain' },
  })
  const res = build(errorHandlers(), 'json')(limited, req())
  t.equal(res.status, 429)
  t.same(res.headers, { 'retry-after': '30', 'content-type': 'application/json' })
  t.same(JSON.parse(res.body), { error: { code: 429, status: 'Too Many Requests', message: 'Too many requests' } })
})
