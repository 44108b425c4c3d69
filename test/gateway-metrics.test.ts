import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { buildConfig } from '../src/config/load.js'
import { ConfigError } from '../src/errors.js'
import { DURATION_BUCKETS } from '../src/observability/stats.js'
import { startFakeIntrospection } from './helpers/introspection-endpoint.js'
import { closedPort } from './helpers/remote-handlers.js'
import { samplesOf, scrape, valueOf, type Scrape } from './helpers/prometheus.js'
import { ALL_HANDLERS, startGateway, startUpstream } from './helpers/servers.js'
import { writeAtomic } from './helpers/files.js'

const up = await startUpstream()
t.teardown(() => up.close())
/**
 * The slow token's introspection: past the 2.5 s bucket, which the other requests' durations stay
 * under even on a busy machine (a late timer only makes the slow ones slower).
 */
const SLOW_MS = 2600
const idp = await startFakeIntrospection({ good: { active: true }, slow: { active: true, delayMs: SLOW_MS } })
t.teardown(() => idp.close())
const deadPort = await closedPort()

const rule = (id: string, path: string, upstream: string, steps: string): string => `
- id: ${id}
  match: { url: 'http://gw.test/${path}/<.*>', methods: [GET] }
  upstream: { url: '${upstream}' }
${steps}`
const OPEN = `  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]`
const rules =
  rule('open', 'open', up.url, OPEN) +
  rule('down', 'down', `http://127.0.0.1:${deadPort}`, OPEN) +
  rule('closed', 'closed', up.url, `  authenticators: [{ handler: anonymous }]
  authorizer: { handler: deny }
  mutators: [{ handler: noop }]`) +
  rule('api', 'api', up.url, `  authenticators: [{ handler: oauth2_introspection }]
  authorizer: { handler: allow }
  mutators: [{ handler: header, config: { headers: { X-User: '{{ print .Subject }}' } } }]`)

const gw = await startGateway(
  { 'rules.yml': rules },
  {
    authenticators: {
      ...ALL_HANDLERS.authenticators,
      // max_cost 2: the third distinct token evicts one answer.
      // A budget (give_up_after) the slow answer fits in.
      oauth2_introspection: { enabled: true, config: { introspection_url: idp.url, retry: { give_up_after: '10s' }, cache: { enabled: true, ttl: '1m', max_cost: 2 } } },
    },
  },
)
t.teardown(() => gw.close())

async function get(base: string, path: string, headers: Record<string, string> = {}, method: 'GET' | 'POST' = 'GET'): Promise<number> {
  const res = await request(`${base}${path}`, { method, headers: { host: 'gw.test', ...headers } })
  await res.body.dump()
  return res.statusCode
}
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

/** Scrapes until `cond` holds (the file watcher notices a change a moment after the write). */
async function scrapeUntil(cond: (m: Scrape) => boolean, what: string): Promise<Scrape> {
  const end = Date.now() + 20_000
  for (;;) {
    const m = await scrape(gw.metrics)
    if (cond(m)) return m
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

t.test('after traffic, /metrics holds the counts: requests, durations, handler outcomes, cache, upstream errors, rules', async (t) => {
  for (let i = 0; i < 3; i++) t.equal(await get(gw.proxy, '/open/x'), 200)
  t.equal(await get(gw.proxy, '/open/x', {}, 'POST'), 404, 'no rule for POST')
  t.equal(await get(gw.proxy, '/closed/x'), 403)
  t.equal(await get(gw.proxy, '/down/x'), 502)
  t.equal(await get(gw.proxy, '/api/x'), 401, 'no token: introspection not responsible')
  t.equal(await get(gw.proxy, '/api/x', bearer('good')), 200, 'cache miss')
  t.equal(await get(gw.proxy, '/api/x', bearer('good')), 200, 'cache hit')
  t.equal(await get(gw.proxy, '/api/x', bearer('bad')), 401, 'inactive: denied')
  const both = await Promise.all([get(gw.proxy, '/api/x', bearer('slow')), get(gw.proxy, '/api/x', bearer('slow'))])
  t.same(both, [200, 200], 'two concurrent requests, one introspection call')
  t.equal(await get(gw.api, '/decisions/open/x'), 200, 'through the decision API')

  const m = await scrape(gw.metrics)
  t.match(m.contentType, /^text\/plain; version=0\.0\.4/)
  t.equal(m.types.get('gatehouse_requests_total'), 'counter')
  t.equal(m.types.get('gatehouse_requests_duration_seconds'), 'histogram')

  const requests = (service: string, rule_id: string, method: string, status_code: string): number | undefined =>
    valueOf(m, 'gatehouse_requests_total', { service, rule_id, method, status_code })
  t.equal(requests('proxy', 'open', 'GET', '200'), 3)
  t.equal(requests('proxy', '', 'POST', '404'), 1, 'no rule: rule_id ""')
  t.equal(requests('proxy', 'closed', 'GET', '403'), 1)
  t.equal(requests('proxy', 'down', 'GET', '502'), 1)
  t.equal(requests('proxy', 'api', 'GET', '401'), 2)
  t.equal(requests('proxy', 'api', 'GET', '200'), 4)
  t.equal(requests('api', 'open', 'GET', '200'), 1)
  t.equal(samplesOf(m, 'gatehouse_requests_total').reduce((n, s) => n + s.value, 0), 13, 'nothing else counted')

  // The histogram: cumulative buckets ending in +Inf = _count, per server and rule.
  const buckets = samplesOf(m, 'gatehouse_requests_duration_seconds_bucket', { service: 'proxy', rule_id: 'open' })
  t.same(
    buckets.map((b) => b.labels.le),
    [...DURATION_BUCKETS.map(String), '+Inf'],
  )
  t.ok(
    buckets.every((b, i) => i === 0 || b.value >= buckets[i - 1]!.value),
    'cumulative',
  )
  t.equal(buckets.at(-1)!.value, 3)
  t.equal(valueOf(m, 'gatehouse_requests_duration_seconds_count', { service: 'proxy', rule_id: 'open' }), 3)
  const slowSum = valueOf(m, 'gatehouse_requests_duration_seconds_sum', { service: 'proxy', rule_id: 'api' })!
  // In seconds: milliseconds would read 5200 and more.
  t.ok(slowSum >= (2 * SLOW_MS) / 1000 && slowSum < 60, `api time includes the two ${SLOW_MS} ms introspections (${slowSum}s)`)
  t.equal(valueOf(m, 'gatehouse_requests_duration_seconds_bucket', { service: 'proxy', rule_id: 'api', le: '2.5' }), 4, 'the two slow ones are above 2.5 s')
  t.equal(valueOf(m, 'gatehouse_requests_duration_seconds_count', { service: 'api', rule_id: 'open' }), 1)
  t.equal(valueOf(m, 'gatehouse_requests_duration_seconds_count', { service: 'api', rule_id: 'api' }), undefined, 'no empty series')

  const outcome = (kind: string, handler: string, o: string): number | undefined => valueOf(m, 'gatehouse_handler_outcomes_total', { kind, handler, outcome: o })
  t.equal(outcome('authenticator', 'oauth2_introspection', 'authenticated'), 4)
  t.equal(outcome('authenticator', 'oauth2_introspection', 'not_responsible'), 1)
  t.equal(outcome('authenticator', 'oauth2_introspection', 'denied'), 1)
  t.equal(outcome('authenticator', 'oauth2_introspection', 'error'), 0, 'exported at 0')
  t.equal(outcome('authenticator', 'noop', 'authenticated'), 5, 'open ×3, decision, down')
  t.equal(outcome('authenticator', 'anonymous', 'authenticated'), 1)
  t.equal(outcome('authorizer', 'allow', 'allowed'), 9)
  t.equal(outcome('authorizer', 'deny', 'denied'), 1)
  t.equal(outcome('mutator', 'noop', 'mutated'), 5)
  t.equal(outcome('mutator', 'header', 'mutated'), 4)

  const endpoint = idp.url
  t.equal(valueOf(m, 'gatehouse_introspection_cache_misses_total', { endpoint }), 3, 'good, bad, slow')
  t.equal(valueOf(m, 'gatehouse_introspection_cache_hits_total', { endpoint }), 1)
  t.equal(valueOf(m, 'gatehouse_introspection_cache_coalesced_total', { endpoint }), 1)
  t.equal(valueOf(m, 'gatehouse_introspection_cache_evictions_total', { endpoint }), 1, 'the third answer pushed one out')
  t.equal(valueOf(m, 'gatehouse_introspection_cache_entries', { endpoint }), 2)
  t.equal(idp.calls.length, 3)

  t.equal(valueOf(m, 'gatehouse_upstream_errors_total', { rule_id: 'down', reason: 'unreachable' }), 1)
  t.equal(valueOf(m, 'gatehouse_rules_loaded'), 4)
  t.equal(valueOf(m, 'gatehouse_rule_reloads_total'), 1, 'the first load')
  t.equal(valueOf(m, 'gatehouse_rule_reload_errors_total'), 0)
  t.equal(valueOf(m, 'gatehouse_rule_sources_failing'), 0)
  t.ok((valueOf(m, 'process_cpu_user_seconds_total') ?? 0) > 0, 'process metrics')
  t.ok(m.types.has('nodejs_eventloop_lag_seconds'), 'Node.js runtime metrics')
})

t.test('a broken rule file counts a reload error; a good change counts a reload', async (t) => {
  writeAtomic(join(gw.dir, 'broken.yml'), '- id: broken\n  match: { url: 42 }\n')
  let m = await scrapeUntil((x) => valueOf(x, 'gatehouse_rule_reload_errors_total') !== 0, 'the reload error')
  t.equal(valueOf(m, 'gatehouse_rule_reload_errors_total'), 1)
  t.equal(valueOf(m, 'gatehouse_rule_sources_failing'), 1)
  t.equal(valueOf(m, 'gatehouse_rule_reloads_total'), 1, 'nothing new published')

  writeAtomic(join(gw.dir, 'broken.yml'), rule('fixed', 'fixed', up.url, OPEN))
  m = await scrapeUntil((x) => valueOf(x, 'gatehouse_rule_reloads_total') === 2, 'the reload')
  t.equal(valueOf(m, 'gatehouse_rule_reloads_total'), 2)
  t.equal(valueOf(m, 'gatehouse_rules_loaded'), 5)
  t.equal(valueOf(m, 'gatehouse_rule_sources_failing'), 0)
  t.equal(valueOf(m, 'gatehouse_rule_reload_errors_total'), 1, 'a counter: the past error stays counted')
})

t.test('counts survive a reload of the rule they belong to', async (t) => {
  const before = valueOf(await scrape(gw.metrics), 'gatehouse_requests_total', { service: 'proxy', rule_id: 'open', method: 'GET', status_code: '200' })!
  writeAtomic(join(gw.dir, 'rules.yml'), `${rules}\n# touched\n`)
  await scrapeUntil((x) => valueOf(x, 'gatehouse_rule_reloads_total') === 3, 'the reload')
  t.equal(await get(gw.proxy, '/open/x'), 200)
  const m = await scrape(gw.metrics)
  t.equal(valueOf(m, 'gatehouse_requests_total', { service: 'proxy', rule_id: 'open', method: 'GET', status_code: '200' }), before + 1)
})

t.test('the metrics port serves only the metrics path; each gateway has its own registry', async (t) => {
  const base = gw.metrics.slice(0, -'/metrics'.length)
  t.equal((await request(`${base}/other`)).statusCode, 404)
  const post = await request(gw.metrics, { method: 'POST' })
  await post.body.dump()
  t.equal(post.statusCode, 405)
  const other = await startGateway({ 'rules.yml': rule('open', 'open', up.url, OPEN) }, { serve: { proxy: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0 }, prometheus: { host: '127.0.0.1', port: 0, metrics_path: '/custom' } } })
  t.teardown(() => other.close())
  t.match(other.metrics, /\/custom$/)
  const m = await scrape(other.metrics)
  t.equal(valueOf(m, 'gatehouse_requests_total', { service: 'proxy', rule_id: 'open', method: 'GET', status_code: '200' }), undefined, 'none of the first gateway’s counts')
  t.equal(valueOf(m, 'gatehouse_rules_loaded'), 1)
})

t.test('serve.prometheus: Oathkeeper defaults, env overrides, checked values', async (t) => {
  t.same(buildConfig({}, {}).serve.prometheus, { host: '', port: 9000, metrics_path: '/metrics' })
  t.same(buildConfig({}, { SERVE_PROMETHEUS_PORT: '9100', SERVE_PROMETHEUS_HOST: '127.0.0.1', SERVE_PROMETHEUS_METRICS_PATH: '/m' }).serve.prometheus, {
    host: '127.0.0.1',
    port: 9100,
    metrics_path: '/m',
  })
  const problems = (raw: unknown): readonly string[] => {
    try {
      buildConfig(raw, {})
      return []
    } catch (err) {
      return (err as ConfigError).problems
    }
  }
  t.same(problems({ serve: { prometheus: { metrics_path: 'metrics' } } }), ['serve.prometheus.metrics_path: must match pattern "^/" (got "metrics")'])
  t.same(problems({ serve: { prometheus: { collapse_request_paths: true } } }), ['serve.prometheus.collapse_request_paths: Oathkeeper key not supported by Gatehouse; remove it'])
})
