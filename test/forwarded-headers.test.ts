import t from 'tap'
import { request } from 'undici'
import { ALL_HANDLERS, startGateway, startUpstream } from './helpers/servers.js'

// Which host the proxy matches, and which X-Forwarded-* the pipeline sees (Oathkeeper's
// proxy.go Rewrite: untrusted forwarded headers are dropped first; the Host header is matched
// even when they are trusted).

const up = await startUpstream()
t.teardown(() => up.close())

const rules = JSON.stringify([
  {
    id: 'internal',
    match: { url: 'http://internal.svc/<.*>', methods: ['GET'] },
    upstream: { url: up.url },
    authenticators: [{ handler: 'anonymous' }],
    authorizer: { handler: 'allow' },
    mutators: [{ handler: 'header', config: { headers: { 'X-Seen-For': '{{ .MatchContext.Header.Get "X-Forwarded-For" }}' } } }],
  },
  {
    id: 'public',
    match: { url: 'http://api.example.com/<.*>', methods: ['GET'] },
    upstream: { url: up.url },
    authenticators: [{ handler: 'unauthorized' }],
    authorizer: { handler: 'allow' },
    mutators: [{ handler: 'noop' }],
  },
])

const errors = {
  fallback: ['redirect', 'json'],
  handlers: {
    json: { enabled: true },
    redirect: {
      enabled: true,
      config: {
        to: 'http://login.test/',
        return_to_query_param: 'back',
        when: [{ error: ['unauthorized'], request: { remote_ip: { match: ['192.0.2.0/24'], respect_forwarded_for_header: true } } }],
      },
    },
  },
}

async function start(proxy: Record<string, unknown>) {
  const gw = await startGateway({ 'rules.json': rules }, {
    ...ALL_HANDLERS,
    errors,
    serve: { proxy: { host: '127.0.0.1', port: 0, ...proxy }, api: { host: '127.0.0.1', port: 0 } },
  })
  t.teardown(() => gw.close())
  return async (headers: Record<string, string>, path = '/x') => {
    const r = await request(`${gw.proxy}${path}`, { headers })
    const text = await r.body.text()
    return { status: r.statusCode, location: r.headers.location, json: r.statusCode === 200 ? JSON.parse(text) : undefined }
  }
}

t.test('trusted forwarded headers: the Host header is matched, X-Forwarded-Host is passed on', async (t) => {
  const get = await start({ trust_forwarded_headers: true })
  const r = await get({ host: 'internal.svc', 'x-forwarded-host': 'api.example.com', 'x-forwarded-for': '203.0.113.5' })
  t.equal(r.status, 200, 'the rule for the Host header')
  t.equal(r.json.headers['x-forwarded-host'], 'api.example.com', 'X-Forwarded-Host reaches the upstream')
  t.equal(r.json.headers['x-seen-for'], '203.0.113.5', 'a trusted X-Forwarded-For reaches the pipeline')
  t.equal((await get({ host: 'api.example.com', 'x-forwarded-host': 'internal.svc' })).status, 401, 'X-Forwarded-Host does not pick the rule')
  // The redirect's return URL names the host the client asked the balancer for, as Oathkeeper's.
  const back = await get({ host: 'api.example.com', 'x-forwarded-host': 'www.example.com', 'x-forwarded-for': '192.0.2.7' })
  t.equal(back.status, 302, 'the trusted X-Forwarded-For hop matches remote_ip')
  t.equal(back.location, `http://login.test/?back=${encodeURIComponent('http://www.example.com/x')}`)
})

t.test('match_forwarded_host: X-Forwarded-Host picks the rule (a Gatehouse option)', async (t) => {
  const get = await start({ trust_forwarded_headers: true, match_forwarded_host: true })
  t.equal((await get({ host: 'api.example.com', 'x-forwarded-host': 'internal.svc' })).status, 200)
  t.equal((await get({ host: 'internal.svc', 'x-forwarded-host': 'api.example.com' })).status, 401)
  t.equal((await get({ host: 'internal.svc' })).status, 200, 'Host when there is no X-Forwarded-Host')
})

t.test('untrusted forwarded headers never reach the pipeline', async (t) => {
  const get = await start({ trust_forwarded_headers: false, match_forwarded_host: true })
  t.equal((await get({ host: 'internal.svc', 'x-forwarded-host': 'api.example.com' })).status, 200, 'match_forwarded_host needs trust')
  const r = await get({ host: 'internal.svc', 'x-forwarded-for': '203.0.113.5', forwarded: 'for=203.0.113.5' })
  t.equal(r.json.headers['x-seen-for'], '', 'templates do not see a client-sent X-Forwarded-For')
  t.equal(r.json.headers['x-forwarded-for'], '127.0.0.1', 'the upstream gets the gateway’s own')
  // A client cannot claim an address to pick the error handler: respect_forwarded_for_header
  // reads only a trusted X-Forwarded-For.
  const spoofed = await get({ host: 'api.example.com', 'x-forwarded-for': '192.0.2.7' })
  t.equal(spoofed.status, 401, 'json, not the redirect for 192.0.2.0/24')
})
