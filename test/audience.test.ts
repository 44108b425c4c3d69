import t from 'tap'
import { checkAudience } from '../src/token-server/audience.js'
import { OAuthError } from '../src/token-server/oauth-error.js'

function allowed(registered: string[], requested: string[]): boolean {
  try {
    checkAudience(registered, requested)
    return true
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err
    return false
  }
}

// fosite's audience_strategy_test.go, TestDefaultAudienceMatchingStrategy, case for case.
t.test("fosite's TestDefaultAudienceMatchingStrategy cases", async (t) => {
  const cases: [string[], string[], boolean][] = [
    [[], [], true],
    [['http://foo/bar'], [], true],
    [[], ['http://foo/bar'], false],
    [['https://cloud.ory.sh/api/users'], ['https://cloud.ory.sh/api/users'], true],
    [['https://cloud.ory.sh/api/users'], ['https://cloud.ory.sh/api/users/'], true],
    [['https://cloud.ory.sh/api/users/'], ['https://cloud.ory.sh/api/users/'], true],
    [['https://cloud.ory.sh/api/users/'], ['https://cloud.ory.sh/api/users'], true],
    [['https://cloud.ory.sh/api/users'], ['https://cloud.ory.sh/api/users/1234'], true],
    [['https://cloud.ory.sh/api/users'], ['https://cloud.ory.sh/api/users', 'https://cloud.ory.sh/api/users/', 'https://cloud.ory.sh/api/users/1234'], true],
    [
      ['https://cloud.ory.sh/api/users', 'https://cloud.ory.sh/api/tenants'],
      ['https://cloud.ory.sh/api/users', 'https://cloud.ory.sh/api/users/', 'https://cloud.ory.sh/api/users/1234', 'https://cloud.ory.sh/api/tenants'],
      true,
    ],
    [['https://cloud.ory.sh/api/users'], ['https://cloud.ory.sh/api/users1234'], false],
    [['https://cloud.ory.sh/api/users'], ['http://cloud.ory.sh/api/users'], false],
    [['https://cloud.ory.sh/api/users'], ['https://cloud.ory.sh:8000/api/users'], false],
    [['https://cloud.ory.sh/api/users'], ['https://cloud.ory.xyz/api/users'], false],
    [['foobar'], ['foobar'], true],
    [['foo bar'], ['foo bar'], true],
    [['zoo', 'bar'], ['zoo'], true],
    [['zoo'], ['zoo', 'bar'], false],
    [['foobar'], ['foobar/'], true],
    [['foobar/'], ['foobar'], true],
  ]
  for (const [h, n, want] of cases) t.equal(allowed(h, n), want, `${JSON.stringify(h)} allows ${JSON.stringify(n)}`)
})

t.test("Go's url.Parse details fosite inherits", async (t) => {
  t.ok(allowed(['https://api.test'], ['https://api.test/any/path']), 'no path registered: the whole host')
  t.ok(allowed(['https://api.test/a'], ['https://api.test/a?x=1#f']), 'query and fragment are not compared')
  t.ok(allowed(['HTTPS://api.test/a'], ['https://api.test/a/b']), 'the scheme is case-insensitive')
  t.notOk(allowed(['https://API.test/a'], ['https://api.test/a']), 'the host is compared as written')
  t.ok(allowed(['https://api.test/a b'], ['https://api.test/a%20b/c']), 'paths are compared decoded')
  t.notOk(allowed(['https://api.test/a'], ['https://api.test/a%zz']), 'a bad escape is refused')
  t.ok(allowed(['https://api.test/a'], ['https://api.test/a/../b']), 'dot segments are not resolved (Go, so fosite): an audience is a name, not a fetched URL')
})

t.test('errors name the audience; an unparseable registered audience fails the request, as in fosite', async (t) => {
  const error = (registered: string[], requested: string[]): unknown => {
    try {
      checkAudience(registered, requested)
    } catch (err) {
      return err
    }
    return undefined
  }
  t.match(error(['https://api.test'], ['https://other.test']), { error: 'invalid_request', description: "Requested audience 'https://other.test' has not been whitelisted by the OAuth 2.0 Client." })
  t.match(error(['https://api.test'], [':nope']), { description: "Unable to parse requested audience ':nope'." })
  t.match(error([':bad', 'https://api.test'], ['https://api.test']), { description: "Unable to parse whitelisted audience ':bad'." })
})

t.test('URNs: equal opaque parts only (fosite compares their empty paths and allows any URN)', async (t) => {
  t.ok(allowed(['urn:example:api'], ['urn:example:api']))
  t.notOk(allowed(['urn:example:api'], ['urn:example:other']))
})
