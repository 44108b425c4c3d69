import t from 'tap'
import { GatehouseError } from '../src/errors.js'
import { normalizePath } from '../src/gateway/normalize.js'

/** The reason of the 400 `normalizePath` throws; anything else fails the test. */
function rejected(path: string): string {
  try {
    normalizePath(path)
  } catch (err) {
    if (err instanceof GatehouseError && err.code === 'GATEHOUSE_ERR_BAD_REQUEST' && err.status === 400) return err.reason ?? ''
    throw err
  }
  throw new Error(`expected ${path} to be rejected`)
}

t.test('common paths are returned unchanged (the same string)', async (t) => {
  for (const p of ['/', '/api/users/42', '/a/b/', '/a.b/c..d/e.', '/a;b=c/d', '/~user/x-y_z']) {
    t.equal(normalizePath(p), p, p)
  }
})

t.test('dot segments are resolved: a request cannot climb out of a public prefix', async (t) => {
  const cases: [string, string][] = [
    ['/public/../admin', '/admin'],
    ['/%2e%2e/admin', '/admin'],
    ['/public/%2e%2e/admin', '/admin'],
    ['/public/%2E%2E/admin', '/admin'],
    ['/public/.%2e/admin', '/admin'],
    ['/./admin', '/admin'],
    ['/a/b/../../../admin', '/admin'],
    ['/..', '/'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/a/./b/../c/', '/a/c/'],
    ['/%2e/admin', '/admin'],
    ['/.well-known/jwks.json', '/.well-known/jwks.json'],
    ['/a/...', '/a/...'],
  ]
  for (const [raw, want] of cases) t.equal(normalizePath(raw), want, raw)
})

t.test('duplicate slashes collapse, a trailing slash is kept', async (t) => {
  t.equal(normalizePath('//admin'), '/admin')
  t.equal(normalizePath('/a//b///c'), '/a/b/c')
  t.equal(normalizePath('/a//'), '/a/')
  t.equal(normalizePath('//'), '/')
  t.equal(normalizePath('/a//../b'), '/b', 'collapsed before dot segments')
})

t.test('escaped unreserved characters are decoded, other escapes upper-cased', async (t) => {
  t.equal(normalizePath('/%41%7a%30%2D%5f%7E'), '/Az0-_~')
  t.equal(normalizePath('/caf%c3%a9'), '/caf%C3%A9', 'UTF-8 stays encoded')
  t.equal(normalizePath('/a%20b%3f'), '/a%20b%3F', 'hex is upper-cased, text around it kept')
  t.equal(normalizePath('/%25/%2541'), '/%25/%2541', 'an escaped % is not decoded twice')
  t.equal(normalizePath('/x%3B/'), '/x%3B/')
})

t.test('ambiguous or malformed paths → 400', async (t) => {
  t.match(rejected('/public/..%2fadmin'), /encoded slash/)
  t.match(rejected('/public/..%2Fadmin'), /encoded slash/)
  t.match(rejected('/a%5cb'), /encoded backslash/)
  t.match(rejected('/a%00.json'), /encoded NUL/)
  t.match(rejected('/a\\..\\admin'), /backslash/)
  t.match(rejected('/a%zz'), /invalid percent-escape "%zz"/)
  t.match(rejected('/a%4'), /invalid percent-escape/)
  t.match(rejected('/a%'), /invalid percent-escape/)
  t.match(rejected('/public/..;/admin'), /dot segment with parameters/)
  t.match(rejected('/public/%2e%2e;x=1/admin'), /dot segment with parameters/)
  t.match(rejected('/.;/admin'), /dot segment with parameters/)
  t.match(rejected('admin'), /must start with "\/"/)
  t.match(rejected(''), /must start with "\/"/)
  t.match(rejected('*'), /must start with "\/"/)
})

t.test('normalising is idempotent', async (t) => {
  for (const p of ['/a/%2e%2e/b//c/./d/', '/caf%c3%a9/%7e', '/x/../../y']) {
    const once = normalizePath(p)
    t.equal(normalizePath(once), once, p)
  }
})
