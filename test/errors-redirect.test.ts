import t from 'tap'
import { request } from 'undici'
import { buildConfig } from '../src/config/load.js'
import { ConfigError, GatehouseError } from '../src/errors.js'
import { HandlerConfigs } from '../src/pipeline/handler-config.js'
import { errorHandlers } from '../src/pipeline/errors/index.js'
import { createRegistries } from '../src/pipeline/registries.js'
import type { HandleError } from '../src/pipeline/types.js'
import { errorStep, type CompileContext } from '../src/rules/compile.js'
import { ALL_HANDLERS, startGateway } from './helpers/servers.js'
import { build, pipelineRequest, testDeps } from './helpers/remote-handlers.js'

const deps = testDeps(t)
const handler = (id: string, config: Record<string, unknown>): HandleError => build(deps, errorHandlers(), id, config)
const unauthorized = new GatehouseError('GATEHOUSE_ERR_UNAUTHORIZED')

t.test('redirect: Location, status and Go’s body; return_to carries the requested URL', async (t) => {
  const get = pipelineRequest({}, 'http://app.test/orders/7?tab=items')
  const post = pipelineRequest({}, 'http://app.test/orders/7?tab=items', 'POST')
  const returnTo = encodeURIComponent('http://app.test/orders/7?tab=items')
  const cases: Array<[name: string, config: Record<string, unknown>, status: number, location: string]> = [
    ['default 302', { to: 'https://login.test/login' }, 302, 'https://login.test/login'],
    ['301', { to: 'https://login.test/login', code: 301 }, 301, 'https://login.test/login'],
    ['return_to added, keys sorted as Go encodes them', { to: 'https://login.test/login?z=1&a=2', return_to_query_param: 'return_to' }, 302, `https://login.test/login?a=2&return_to=${returnTo}&z=1`],
    ['relative target stays relative', { to: '/login', return_to_query_param: 'next' }, 302, `/login?next=${returnTo}`],
    ['relative target without return_to', { to: '/login#top' }, 302, '/login#top'],
  ]
  for (const [name, config, status, location] of cases) {
    const r = handler('redirect', config)(unauthorized, get)
    t.same([r.status, r.headers.location], [status, location], name)
    t.equal(r.body, `<a href="${location.replaceAll('&', '&#38;')}">${status === 301 ? 'Moved Permanently' : 'Found'}</a>.\n\n`, `${name}: body`)
    t.equal(r.headers['content-type'], 'text/html; charset=utf-8')
  }
  const malformed = Object.defineProperty(pipelineRequest(), 'url', {
    get() {
      throw new TypeError('Invalid URL')
    },
  })
  t.equal(handler('redirect', { to: '/login', return_to_query_param: 'next' })(unauthorized, malformed).headers.location, '/login', 'no URL to return to (e.g. a request without Host): none added')
  const p = handler('redirect', { to: '/login' })(unauthorized, post)
  t.same(p, { status: 302, headers: { location: '/login' }, body: '' }, 'no body for other methods, as http.Redirect')
  t.throws(() => handler('redirect', { to: '/x', code: 307 }), /code/)
  t.throws(() => handler('redirect', { to: 'javascript:alert(1)' }), /must be an http\(s\) URL or a relative one/)
  t.throws(() => handler('redirect', { to: '/x', return_to_query_param: 'a b' }), /return_to_query_param/)
  t.throws(() => handler('redirect', {}), /to/)
})

t.test('www_authenticate: 401 with a quoted Basic realm, whatever the error', async (t) => {
  const forbidden = new GatehouseError('GATEHOUSE_ERR_FORBIDDEN')
  const cases: Array<[config: Record<string, unknown>, header: string]> = [
    [{}, 'Basic realm="Please authenticate."'],
    [{ realm: '' }, 'Basic realm="Please authenticate."'],
    [{ realm: 'Staff "only" \\ area' }, 'Basic realm="Staff \\"only\\" \\\\ area"'],
  ]
  for (const [config, header] of cases) {
    const r = handler('www_authenticate', config)(forbidden, pipelineRequest())
    t.same(r, {
      status: 401,
      headers: { 'www-authenticate': header, 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
      body: 'Unauthorized\n',
    })
  }
  t.throws(() => handler('www_authenticate', { realm: 'a\r\nSet-Cookie: x=1' }), /control characters/)
})

t.test('`when` is taken out and compiled for these handlers on the normal path', async (t) => {
  const config = buildConfig({
    ...ALL_HANDLERS,
    errors: { fallback: ['json'], handlers: { json: { enabled: true }, redirect: { enabled: true, config: { to: '/login' } }, www_authenticate: { enabled: true } } },
  }, {})
  const ctx: CompileContext = { handlers: new HandlerConfigs(config, createRegistries()), strategy: 'regexp', deps }
  const step = errorStep(ctx, { handler: 'redirect', config: { when: [{ error: ['unauthorized'], request: { header: { accept: ['text/html'] } } }] } }, 'rule "r": errors[0]')
  t.ok(step.when(unauthorized, pipelineRequest({ accept: 'text/html,*/*;q=0.8' })))
  t.notOk(step.when(unauthorized, pipelineRequest({ accept: 'application/json' })))
  t.notOk(step.when(new GatehouseError('GATEHOUSE_ERR_FORBIDDEN'), pipelineRequest({ accept: 'text/html' })))
  t.equal(step.run(unauthorized, pipelineRequest()).headers.location, '/login', 'global config merged under the rule config')
  t.throws(
    () => errorStep(ctx, { handler: 'www_authenticate', config: { when: [{ error: ['nope'] }] } }, 'rule "r": errors[1]'),
    ConfigError,
    'a bad when is a load error',
  )
})

t.test('through the gateway: the rule’s handlers are chosen by `when`, then errors.fallback', async (t) => {
  const deny = (id: string, path: string, errors?: unknown) => ({
    id,
    match: { url: `http://<.*>${path}`, methods: ['GET'] },
    upstream: { url: 'http://127.0.0.1:1' },
    authenticators: [{ handler: 'unauthorized' }],
    authorizer: { handler: 'allow' },
    mutators: [{ handler: 'noop' }],
    ...(errors === undefined ? {} : { errors }),
  })
  const gw = await startGateway(
    {
      'rules.json': JSON.stringify([
        deny('browser', '/app', [
          { handler: 'redirect', config: { to: 'http://login.test/', code: 302, return_to_query_param: 'return_to', when: [{ error: ['unauthorized'], request: { header: { accept: ['text/html'] } } }] } },
          { handler: 'www_authenticate', config: { realm: 'API', when: [{ request: { cidr: ['127.0.0.0/8'], header: { accept: ['text/plain'] } } }] } },
          // Its own `when` replaces the global one (lists are not merged, as in Oathkeeper).
          { handler: 'json', config: { when: [{ request: { header: { accept: ['application/json'] } } }] } },
        ]),
        deny('global', '/other'),
      ]),
    },
    {
      errors: {
        fallback: ['www_authenticate', 'redirect'],
        handlers: {
          redirect: { enabled: true, config: { to: '/signin', code: 301, when: [{ error: ['unauthorized'] }] } },
          www_authenticate: { enabled: true, config: { when: [{ error: ['forbidden'] }] } },
          // Enabled but not in errors.fallback: only rules that name them use them.
          json: { enabled: true, config: { when: [{ error: ['forbidden'] }] } },
        },
      },
    },
  )
  t.teardown(() => gw.close())
  const get = async (path: string, accept?: string) => {
    const r = await request(`${gw.proxy}${path}?q=1`, { headers: { host: 'app.test', ...(accept === undefined ? {} : { accept }) } })
    const body = await r.body.text()
    return { status: r.statusCode, headers: r.headers, body }
  }
  const html = await get('/app', 'text/html')
  t.equal(html.status, 302)
  t.equal(html.headers.location, `http://login.test/?return_to=${encodeURIComponent('http://app.test/app?q=1')}`)
  const plain = await get('/app', 'text/plain')
  t.equal(plain.status, 401)
  t.equal(plain.headers['www-authenticate'], 'Basic realm="API"')
  const json = await get('/app', 'application/json')
  t.equal(json.status, 401)
  t.same(JSON.parse(json.body), { error: { code: 401, status: 'Unauthorized', message: 'Access credentials are invalid' } })
  const global = await get('/other', 'application/json')
  t.equal(global.status, 301, 'no rule handlers: errors.fallback in order, first `when` match (www_authenticate is for 403s)')
  t.equal(global.headers.location, '/signin')
  const none = await get('/app', 'image/png')
  t.equal(none.status, 301, 'no rule handler responsible for an image/png client: errors.fallback')
})
