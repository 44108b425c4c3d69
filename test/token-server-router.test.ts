import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import t, { type Test } from 'tap'
import type { ErrorRenderer } from '../src/token-server/http/errors.js'
import { createRouter, type Route } from '../src/token-server/http/router.js'
import { invalidRequest } from '../src/token-server/oauth-error.js'
import { StoreUnavailableError } from '../src/token-server/store/types.js'
import { call } from './helpers/token-server.js'
import { rawExchange } from './helpers/raw-http.js'

/** What the authorization endpoint will do with its errors: back to the client, in the query (RFC 6749 §4.1.2.1). */
const redirectToClient: ErrorRenderer = ({ res, query }, err) => {
  const to = new URL('https://app.test/callback')
  to.searchParams.set('error', err.error)
  to.searchParams.set('error_description', err.description)
  const state = query.get('state')
  if (state !== null) to.searchParams.set('state', state)
  res.writeHead(302, { location: to.href, 'content-length': '0' })
  res.end()
}

const failures: Record<string, () => never> = {
  oauth: () => {
    throw invalidRequest('The request is missing the "client_id" parameter.')
  },
  bug: () => {
    throw new Error('secret internal detail')
  },
  store: () => {
    throw new StoreUnavailableError('connection refused at 10.0.0.7')
  },
}

async function start(t: Test, routes: Route[]): Promise<{ url: string; port: number; logged: string[] }> {
  const logged: string[] = []
  const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(line) })
  const server = createServer(createRouter(routes, logger))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, port, logged }
}

/** The same failures behind a JSON route (the default) and a redirecting one. */
function routes(): Route[] {
  return Object.entries(failures).flatMap(([name, fail]) => [
    { method: 'GET', path: `/json/${name}`, handler: async () => fail() },
    { method: 'GET', path: `/redirect/${name}`, handler: async () => fail(), renderError: redirectToClient },
  ])
}

t.test('each route renders its own errors: JSON by default, a redirect where the route says so', async (t) => {
  const s = await start(t, routes())
  const json = await call('GET', `${s.url}/json/oauth`)
  t.equal(json.status, 400)
  t.same(json.body, { error: 'invalid_request', error_description: 'The request is missing the "client_id" parameter.' })
  t.equal(json.headers['cache-control'], 'no-store')

  const redirect = await call('GET', `${s.url}/redirect/oauth?state=xyz-123`)
  t.equal(redirect.status, 302)
  const to = new URL(String(redirect.headers.location))
  t.equal(to.origin + to.pathname, 'https://app.test/callback')
  t.same(Object.fromEntries(to.searchParams), {
    error: 'invalid_request',
    error_description: 'The request is missing the "client_id" parameter.',
    state: 'xyz-123',
  })
})

t.test('a bug or a store outage reaches the route renderer as server_error / temporarily_unavailable, without details', async (t) => {
  const s = await start(t, routes())
  const bug = await call('GET', `${s.url}/redirect/bug`)
  t.equal(bug.status, 302)
  t.same(Object.fromEntries(new URL(String(bug.headers.location)).searchParams), {
    error: 'server_error',
    error_description: 'The authorization server encountered an unexpected condition',
  })
  const store = await call('GET', `${s.url}/redirect/store`)
  t.equal(new URL(String(store.headers.location)).searchParams.get('error'), 'temporarily_unavailable')
  t.notMatch(String(bug.headers.location) + String(store.headers.location), /secret internal detail|10\.0\.0\.7/)
  const jsonBug = await call('GET', `${s.url}/json/bug`)
  t.same([jsonBug.status, jsonBug.body.error], [500, 'server_error'])
  t.notMatch(JSON.stringify(jsonBug.body), /secret internal detail|at /)
  t.match(s.logged.join(''), /secret internal detail/, 'the detail goes to the log')
})

t.test('404 and 405 are JSON whatever the route renders', async (t) => {
  const s = await start(t, routes())
  const missing = await call('GET', `${s.url}/nowhere`)
  t.same([missing.status, missing.headers['content-type']], [404, 'application/json; charset=utf-8'])
  const wrongMethod = await call('POST', `${s.url}/redirect/oauth`)
  t.same([wrongMethod.status, wrongMethod.body.error, wrongMethod.headers.allow], [405, 'method_not_allowed', 'GET'])
})

t.test('a renderer that throws still gets the client an answer (JSON)', async (t) => {
  const broken: ErrorRenderer = () => {
    throw new Error('cannot build the redirect')
  }
  const s = await start(t, [{ method: 'GET', path: '/x', handler: async () => failures.oauth!(), renderError: broken }])
  const r = await call('GET', `${s.url}/x`)
  t.same([r.status, r.body.error], [400, 'invalid_request'])
  t.match(s.logged.join(''), /error renderer failed/)
})

t.test('a Host header that is not a host is a 400, not a crash', async (t) => {
  const s = await start(t, [{ method: 'GET', path: '/x', handler: async ({ res }) => void res.end('ok') }])
  const r = await rawExchange(s.port, 'GET /x HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n')
  t.equal(r.status, 400)
  t.match(r.responses[0]?.body, /"error":"invalid_request".*Host header/)
  t.equal((await call('GET', `${s.url}/x`)).body, 'ok', 'and the server goes on serving')
})
