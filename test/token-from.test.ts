import t from 'tap'
import { compileTokenFrom } from '../src/pipeline/authn/token-from.js'
import type { PipelineRequest } from '../src/pipeline/session.js'

const req = (headers: Record<string, string>, url = 'http://gw.test/x'): PipelineRequest => ({ method: 'GET', url: new URL(url), headers, remoteAddress: '127.0.0.1', requestId: 'r' })

t.test('default: Authorization: Bearer, scheme case-insensitive, split at the first space', async (t) => {
  const read = compileTokenFrom(undefined)
  t.equal(read(req({ authorization: 'Bearer abc' })), 'abc')
  t.equal(read(req({ authorization: 'bearer abc def' })), 'abc def')
  t.equal(read(req({ authorization: 'Basic abc' })), '')
  t.equal(read(req({ authorization: 'Bearer' })), '')
  t.equal(read(req({})), '')
})

t.test('header, query_parameter and cookie', async (t) => {
  t.equal(compileTokenFrom({ header: 'X-Token' })(req({ 'x-token': 'Bearer abc' })), 'Bearer abc', 'a named header is taken whole')
  t.equal(compileTokenFrom({ header: 'Authorization' })(req({ authorization: 'Bearer abc' })), 'abc', 'Authorization is always stripped')
  t.equal(compileTokenFrom({ query_parameter: 'token' })(req({}, 'http://gw.test/x?a=1&token=t%2Bk')), 't+k')
  const cookie = compileTokenFrom({ cookie: 'session' })
  t.equal(cookie(req({ cookie: 'a=1; session=s3; b=2' })), 's3')
  t.equal(cookie(req({ cookie: 'session="quoted"' })), 'quoted')
  t.equal(cookie(req({ cookie: 'xsession=1' })), '')
  t.equal(cookie(req({})), '')
})
