import t from 'tap'
import { request } from 'undici'
import { startGateway } from './helpers/servers.js'

// Oathkeeper's choice of error handler (proxy/request_handler.go HandleError): the rule's
// `errors` in order, then `errors.fallback` in order, each only when its `when` matches; when
// none matches, 500. Handlers that are merely enabled are never tried on their own.

const rule = (id: string, path: string, authorizer: string, errors?: unknown): unknown => ({
  id,
  match: { url: `http://gw.test${path}`, methods: ['GET'] },
  upstream: { url: 'http://127.0.0.1:1' },
  authenticators: [{ handler: authorizer === 'deny' ? 'noop' : 'unauthorized' }],
  authorizer: { handler: authorizer },
  mutators: [{ handler: 'noop' }],
  ...(errors === undefined ? {} : { errors }),
})

const rules = JSON.stringify([
  rule('unauth', '/unauth', 'allow'),
  rule('forbid', '/forbid', 'deny'),
  rule('dup-a', '/dup', 'allow'),
  rule('dup-b', '/dup', 'allow'),
  rule('own', '/own', 'allow', [{ handler: 'redirect', config: { to: '/mine', when: [{ error: ['forbidden'] }] } }]),
])

async function get(base: string, path: string, accept = 'application/json') {
  const r = await request(`${base}${path}`, { headers: { host: 'gw.test', accept } })
  return { status: r.statusCode, location: r.headers.location, type: r.headers['content-type'], body: await r.body.text() }
}

t.test('fallback [redirect] answers although json is enabled (and listed first)', async (t) => {
  const gw = await startGateway({ 'rules.json': rules }, {
    errors: {
      fallback: ['redirect'],
      handlers: { json: { enabled: true }, redirect: { enabled: true, config: { to: '/login' } } },
    },
  })
  t.teardown(() => gw.close())
  const r = await get(gw.proxy, '/unauth')
  t.same([r.status, r.location], [302, '/login'])
  t.same([(await get(gw.proxy, '/nowhere')).status], [302], 'also for a URL that matches no rule')
})

t.test('fallback handlers are tried in order, each only when its `when` matches', async (t) => {
  const handlers = {
    redirect: { enabled: true, config: { to: '/login', when: [{ error: ['unauthorized'], request: { header: { accept: ['text/html'] } } }] } },
    www_authenticate: { enabled: true, config: { when: [{ error: ['unauthorized'] }] } },
    json: { enabled: true, config: { when: [{ error: ['not_found', 'forbidden'] }] } },
  }
  const gw = await startGateway({ 'rules.json': rules }, { errors: { fallback: ['redirect', 'www_authenticate', 'json'], handlers } })
  t.teardown(() => gw.close())
  t.same((await get(gw.proxy, '/unauth', 'text/html')).location, '/login', 'first: redirect for browsers')
  const api = await get(gw.proxy, '/unauth')
  t.same([api.status, api.location, api.type], [401, undefined, 'text/plain; charset=utf-8'], 'second: www_authenticate')
  const missing = await get(gw.proxy, '/nowhere', 'text/html')
  t.same([missing.status, JSON.parse(missing.body).error.code], [404, 404], 'third: json, for an unmatched URL too')
  const forbidden = await get(gw.proxy, '/forbid')
  t.equal(forbidden.status, 403)

  // No fallback handler is responsible for a 500: it stays a 500 (www_authenticate would say 401).
  const dup = await get(gw.proxy, '/dup')
  t.equal(dup.status, 500)
  t.equal(dup.type, 'application/json')
  t.match(JSON.parse(dup.body), { error: { code: 500, status: 'Internal Server Error', message: /No error handler is responsible/ } })
  t.ok(dup.body.endsWith('\n'), 'the body ends with a newline')
  t.ok(gw.logs.some((l) => l.code === 'GATEHOUSE_ERR_MULTIPLE_RULES' && String(l.msg).startsWith('no error handler is responsible')), 'the configuration problem is logged')
})

t.test('a rule’s handlers first; when none of them is responsible, errors.fallback', async (t) => {
  const gw = await startGateway({ 'rules.json': rules }, {
    errors: { fallback: ['json'], handlers: { json: { enabled: true }, redirect: { enabled: true, config: { to: '/login' } } } },
  })
  t.teardown(() => gw.close())
  const r = await get(gw.proxy, '/own')
  t.same([r.status, JSON.parse(r.body).error.code], [401, 401], 'the rule’s redirect only answers 403s')
})

t.test('the answer does not depend on the order of the handler keys in the config', async (t) => {
  const answers: number[] = []
  for (const order of [['json', 'www_authenticate'], ['www_authenticate', 'json']]) {
    const handlers = { ...Object.fromEntries(order.map((id) => [id, { enabled: true }])), redirect: { enabled: true, config: { to: '/l' } } }
    const gw = await startGateway({ 'rules.json': rules }, { errors: { fallback: ['json'], handlers } })
    answers.push((await get(gw.proxy, '/unauth')).status)
    await gw.close()
  }
  t.same(answers, [401, 401])
  // And with the json handler answering only 403s, nothing else steps in.
  const gw = await startGateway({ 'rules.json': rules }, {
    errors: { fallback: ['json'], handlers: { www_authenticate: { enabled: true }, json: { enabled: true, config: { when: [{ error: ['forbidden'] }] } } } },
  })
  t.teardown(() => gw.close())
  t.equal((await get(gw.proxy, '/unauth')).status, 500)
})
