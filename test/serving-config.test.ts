import t from 'tap'
import { buildConfig } from '../src/config/load.js'
import { ConfigError } from '../src/errors.js'
import { workerCount } from '../src/cli/cluster.js'
import { availableParallelism } from 'node:os'

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

t.test('defaults: plain HTTP, one worker, 10s shutdown grace', async (t) => {
  const c = buildConfig({}, {})
  t.same(c.serve.proxy.tls, {})
  t.same(c.serve.api.tls, {})
  t.equal(c.serve.proxy.workers, 1)
  t.equal(c.serve.shutdown_grace, '10s')
})

t.test("serve.proxy.workers: a number or 'auto', from files and from SERVE_PROXY_WORKERS", async (t) => {
  t.equal(buildConfig({ serve: { proxy: { workers: 4 } } }, {}).serve.proxy.workers, 4)
  t.equal(buildConfig({ serve: { proxy: { workers: 'auto' } } }, {}).serve.proxy.workers, 'auto')
  t.equal(buildConfig({}, { SERVE_PROXY_WORKERS: '3' }).serve.proxy.workers, 3)
  t.equal(buildConfig({}, { SERVE_PROXY_WORKERS: 'auto' }).serve.proxy.workers, 'auto')
  t.equal(workerCount('auto'), availableParallelism())
  t.equal(workerCount(2), 2)
  t.same(problemsOf(() => buildConfig({ serve: { proxy: { workers: 0 } } }, {})), ['serve.proxy.workers: must be an integer from 1 to 1024 or "auto" (got 0)'])
  t.same(problemsOf(() => buildConfig({}, { SERVE_PROXY_WORKERS: 'many' })), [
    'serve.proxy.workers: must be an integer from 1 to 1024 or "auto" (got "many") [from $SERVE_PROXY_WORKERS]',
  ])
})

t.test('Oathkeeper TLS keys are accepted, also from the environment; unknown TLS keys are not', async (t) => {
  const c = buildConfig({ serve: { api: { tls: { cert: { base64: 'Y2VydA' }, key: { base64: 'a2V5' } } } } }, {
    SERVE_PROXY_TLS_CERT_PATH: '/etc/tls/tls.crt',
    SERVE_PROXY_TLS_KEY_PATH: '/etc/tls/tls.key',
  })
  t.same(c.serve.proxy.tls, { cert: { path: '/etc/tls/tls.crt' }, key: { path: '/etc/tls/tls.key' } })
  t.same(c.serve.api.tls, { cert: { base64: 'Y2VydA' }, key: { base64: 'a2V5' } })
  t.same(problemsOf(() => buildConfig({ serve: { proxy: { tls: { cert: { file: 'x' } } } } }, {})), [
    'serve.proxy.tls.cert.file: unknown key (known: path, base64)',
  ])
})

t.test('serve.shutdown_delay: 0s by default (as Oathkeeper), a duration, from files and SERVE_SHUTDOWN_DELAY', async (t) => {
  t.equal(buildConfig({}, {}).serve.shutdown_delay, '0s')
  t.equal(buildConfig({ serve: { shutdown_delay: '5s' } }, {}).serve.shutdown_delay, '5s')
  t.equal(buildConfig({}, { SERVE_SHUTDOWN_DELAY: '7s' }).serve.shutdown_delay, '7s')
  t.match(problemsOf(() => buildConfig({ serve: { shutdown_delay: 'soon' } }, {})), [/^serve\.shutdown_delay: must be a duration/])
})

t.test('serve.shutdown_grace is a duration', async (t) => {
  t.equal(buildConfig({}, { SERVE_SHUTDOWN_GRACE: '30s' }).serve.shutdown_grace, '30s')
  t.match(problemsOf(() => buildConfig({ serve: { shutdown_grace: 10 } }, {})), [/^serve\.shutdown_grace: must be a duration/])
})
