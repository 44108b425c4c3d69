import t from 'tap'
import { Ajv } from 'ajv'
import type { IncomingHttpHeaders } from 'node:http'
import { ConfigError, GatehouseError } from '../src/errors.js'
import { compileWhen, whenSchema } from '../src/pipeline/errors/when.js'
import type { PipelineRequest } from '../src/pipeline/session.js'

function req(headers: IncomingHttpHeaders = {}, remoteAddress = '127.0.0.1'): PipelineRequest {
  return { method: 'GET', url: new URL('http://gw.test/x'), headers, remoteAddress, requestId: 'r-1' }
}

const unauthorized = new GatehouseError('GATEHOUSE_ERR_UNAUTHORIZED')
const forbidden = new GatehouseError('GATEHOUSE_ERR_FORBIDDEN')
const notFound = new GatehouseError('GATEHOUSE_ERR_NO_RULE')

t.test('absent, null or empty when → matches everything', async (t) => {
  for (const when of [undefined, null, []]) {
    const m = compileWhen(when, 'x')
    t.ok(m(notFound, req()), JSON.stringify(when))
    t.ok(m(unauthorized, req({}, '203.0.113.9')), JSON.stringify(when))
  }
})

t.test('error kinds: only the listed kinds match', async (t) => {
  const m = compileWhen([{ error: ['unauthorized', 'forbidden'] }], 'x')
  t.ok(m(unauthorized, req()))
  t.ok(m(forbidden, req()))
  t.notOk(m(notFound, req()))
  t.ok(compileWhen([{ error: ['internal_server_error'] }], 'x')(new GatehouseError('GATEHOUSE_ERR_TEMPLATE'), req()))
})

t.test('cidr: IPv4, IPv6 and IPv4-mapped IPv6 client addresses', async (t) => {
  const m = compileWhen([{ request: { cidr: ['127.0.0.0/8', '::1/128', '2001:db8::/32'] } }], 'x')
  t.ok(m(notFound, req({}, '127.0.0.1')))
  t.ok(m(notFound, req({}, '127.200.3.4')))
  t.ok(m(notFound, req({}, '::ffff:127.0.0.1')), 'mapped address matches the IPv4 subnet')
  t.ok(m(notFound, req({}, '::1')))
  t.ok(m(notFound, req({}, '2001:db8:1::5')))
  t.notOk(m(notFound, req({}, '10.0.0.1')))
  t.notOk(m(notFound, req({}, '::ffff:10.0.0.1')))
  t.notOk(m(notFound, req({}, '2001:db9::1')))
  t.notOk(m(notFound, req({}, '')), 'unknown address never matches')
  t.ok(compileWhen([{ request: { cidr: ['198.51.100.7'] } }], 'x')(notFound, req({}, '198.51.100.7')), 'bare address = one host')
})

t.test('remote_ip (Oathkeeper spelling) with and without X-Forwarded-For', async (t) => {
  const plain = compileWhen([{ request: { remote_ip: { match: ['192.168.1.0/24'] } } }], 'x')
  const fwd = compileWhen([{ request: { remote_ip: { match: ['192.168.1.0/24'], respect_forwarded_for_header: true } } }], 'x')
  const viaProxy = req({ 'x-forwarded-for': '203.0.113.1, 192.168.1.20' }, '10.0.0.2')
  t.ok(plain(notFound, req({}, '192.168.1.3')))
  t.notOk(plain(notFound, viaProxy), 'X-Forwarded-For ignored by default')
  t.ok(fwd(notFound, viaProxy), 'a forwarded hop matches when asked to')
  t.notOk(fwd(notFound, req({ 'x-forwarded-for': '203.0.113.1' }, '10.0.0.2')))
})

t.test('content_type: media type only, parameters and case ignored', async (t) => {
  const m = compileWhen([{ request: { header: { content_type: ['application/json', 'text/*'] } } }], 'x')
  t.ok(m(notFound, req({ 'content-type': 'application/json; charset=utf-8' })))
  t.ok(m(notFound, req({ 'content-type': 'Application/JSON' })))
  t.ok(m(notFound, req({ 'content-type': 'text/plain' })), 'type/* condition')
  t.notOk(m(notFound, req({ 'content-type': 'application/xml' })))
  t.notOk(m(notFound, req()), 'absent → application/octet-stream, as in Oathkeeper')
  t.notOk(m(notFound, req({ 'content-type': 'garbage' })), 'malformed never matches')
  t.ok(compileWhen([{ request: { header: { content_type: ['application/*'] } } }], 'x')(notFound, req()))
})

t.test('accept: q-values, wildcards in conditions, client wildcards taken literally', async (t) => {
  const json = compileWhen([{ request: { header: { accept: ['application/json'] } } }], 'x')
  t.ok(json(notFound, req({ accept: 'text/html, application/json;q=0.5' })))
  t.ok(json(notFound, req({ accept: 'Application/Json; Q=1.0' })))
  t.notOk(json(notFound, req({ accept: 'text/html, application/json;q=0' })), 'q=0 means not acceptable')
  t.notOk(json(notFound, req({ accept: 'application/json;q=abc' })), 'malformed q ignored')
  t.notOk(json(notFound, req({ accept: '*/*' })), 'a client wildcard does not match a concrete condition')
  t.notOk(json(notFound, req({ accept: 'application/*' })))
  t.notOk(json(notFound, req()), 'absent Accept → application/octet-stream')

  const text = compileWhen([{ request: { header: { accept: ['text/*'] } } }], 'x')
  t.ok(text(notFound, req({ accept: 'text/html,application/xhtml+xml,*/*;q=0.8' })))
  t.ok(text(notFound, req({ accept: 'text/*' })))
  t.notOk(text(notFound, req({ accept: 'application/json, */*;q=0.1' })))

  const any = compileWhen([{ request: { header: { accept: ['*/*'] } } }], 'x')
  t.ok(any(notFound, req({ accept: 'image/png' })))
  t.ok(any(notFound, req({ accept: '*' })), 'bare * read as */*')
  t.notOk(any(notFound, req({ accept: 'image/png;q=0' })))
})

t.test('fields of one condition are AND-ed, conditions OR-ed', async (t) => {
  const m = compileWhen(
    [
      { error: ['unauthorized'], request: { cidr: ['10.0.0.0/8'], header: { accept: ['text/html'] } } },
      { error: ['not_found'] },
    ],
    'x',
  )
  const browser = { accept: 'text/html' }
  t.ok(m(unauthorized, req(browser, '10.1.2.3')), 'all fields of the first condition hold')
  t.notOk(m(unauthorized, req(browser, '192.0.2.1')), 'address fails → first condition fails')
  t.notOk(m(unauthorized, req({ accept: 'application/json' }, '10.1.2.3')), 'accept fails')
  t.notOk(m(forbidden, req(browser, '10.1.2.3')), 'error kind fails')
  t.ok(m(notFound, req({}, '192.0.2.1')), 'second condition alone')
})

t.test('bad cidr → ConfigError naming where and the value', async (t) => {
  for (const cidr of ['300.0.0.0/8', '10.0.0.0/33', '::1/129', 'fe80::%eth0/64', 'localhost', '10.0.0.0/x']) {
    const err = t.throws(() => compileWhen([{ request: { cidr: [cidr] } }], 'rule "r1": errors[0]')) as ConfigError
    t.type(err, ConfigError)
    t.match(err.message, `rule "r1": errors[0]: when[0].request.cidr[0]: "${cidr}" is not a valid CIDR`)
  }
})

t.test('bad shapes → one ConfigError listing every problem', async (t) => {
  t.throws(() => compileWhen({ error: ['unauthorized'] }, 'w'), new ConfigError('w: when must be a list of conditions'))
  const err = t.throws(() =>
    compileWhen(
      [
        { error: ['unauthorised'], request: { header: { accept: 'text/html', content_typ: ['a/b'] } } },
        'x',
        { request: { cidr: ['1.2.3.0/24', 'nope'], remote_ip: { match: ['10.0.0.0/8'], respect_forwarded_for_header: 'yes' } } },
        { request: { header: { accept: ['html'] } } },
      ],
      'w',
    ),
  ) as ConfigError
  t.type(err, ConfigError)
  t.match(err.message, /^w: invalid when conditions:\n  - w: when\[0\]\.error: unknown error "unauthorised"/)
  t.same(err.problems, [
    'w: when[0].error: unknown error "unauthorised" (known: unauthorized, forbidden, not_found, internal_server_error, bad_request, bad_gateway, gateway_timeout, service_unavailable, too_many_requests, payload_too_large)',
    'w: when[0].request.header: unknown key "content_typ" (known: content_type, accept)',
    'w: when[0].request.header.accept must be a list of non-empty strings',
    'w: when[1] must be an object',
    'w: when[2].request.remote_ip.respect_forwarded_for_header must be true or false',
    'w: when[2].request.cidr[1]: "nope" is not a valid CIDR (e.g. 10.0.0.0/8 or fd00::/8)',
    'w: when[3].request.header.accept: "html" is not a media type (e.g. application/json, text/*, */*)',
  ])
})

t.test('whenSchema compiles under the rule compiler’s ajv options and agrees with compileWhen', async (t) => {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true })
  const validate = ajv.compile(whenSchema)
  const good = [
    { error: ['forbidden'], request: { cidr: ['::1/128'], header: { content_type: ['application/json'], accept: ['text/*'] } } },
    { request: { remote_ip: { match: ['10.0.0.0/8'], respect_forwarded_for_header: true } } },
  ]
  t.ok(validate(good), JSON.stringify(validate.errors))
  t.ok(validate(null), 'empty YAML key')
  t.notOk(validate([{ eror: ['forbidden'] }]), 'typo in a key')
  t.notOk(validate([{ error: ['nope'] }]), 'unknown error kind')
  t.notOk(validate([{ request: { header: { accept: 'text/html' } } }]), 'string instead of list')
  t.doesNotThrow(() => compileWhen(good, 'x'))
})
