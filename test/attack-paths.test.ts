import t, { type Test } from 'tap'
import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GatehouseError } from '../src/errors.js'
import { matchPath } from '../src/gateway/match-path.js'
import { normalizePath } from '../src/gateway/normalize.js'
import { lenientDecode, lenientSegments } from './helpers/lenient-path.js'
import { rawExchange, type RawExchange } from './helpers/raw-http.js'
import { startGateway, startUpstream, type Seen } from './helpers/servers.js'

// The path corpus: requests that try to reach /admin (401, an authenticator nobody passes) or
// /internal (403) through a rule set whose only open door is /public. Every request is sent as
// raw bytes, because HTTP clients normalise what we want to test. For every row:
// - the status is the expected one;
// - a forwarded request reached the upstream with exactly the expected path, and that path is
//   the one the rule matched (the rule's header mutator sends its capture along: `/public/` +
//   capture must equal the path the upstream saw);
// - a refused request reached nothing;
// and at the end, no path the upstream saw leads to /admin or /internal, even read the way
// lenient servers read paths (see `lenientSegments`).

const up = await startUpstream()
t.teardown(() => up.close())

const METHODS = '[GET, POST, PUT, DELETE, PATCH, OPTIONS]'
function rules(any: string): string {
  return `
- id: public
  match: { url: 'http://gw.test/public/${any}', methods: ${METHODS} }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: anonymous }]
  authorizer: { handler: allow }
  mutators: [{ handler: header, config: { headers: { X-Matched-Rest: '{{ index .MatchContext.RegexpCaptureGroups 0 }}' } } }]
- id: secure
  match: { url: 'https://gw.test/secure/${any}', methods: ${METHODS} }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: anonymous }]
  authorizer: { handler: allow }
  mutators: [{ handler: header, config: { headers: { X-Matched-Rest: '{{ index .MatchContext.RegexpCaptureGroups 0 }}' } } }]
- id: admin
  match: { url: 'http://gw.test/admin/${any}', methods: ${METHODS} }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: unauthorized }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
- id: internal
  match: { url: 'http://gw.test/internal/${any}', methods: ${METHODS} }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: anonymous }]
  authorizer: { handler: deny }
  mutators: [{ handler: noop }]
`
}
// Trusting: X-Forwarded-Host is matched too (match_forwarded_host), so its checks are exercised.
const proxyOnly = (trust: boolean) => ({ serve: { proxy: { host: '127.0.0.1', port: 0, trust_forwarded_headers: trust, match_forwarded_host: trust }, api: { host: '127.0.0.1', port: 0 } } })
// The glob gateway's rules live in a directory of our own: `access_rules` replaces the helper's.
const globDir = mkdtempSync(join(tmpdir(), 'gatehouse-attack-'))
writeFileSync(join(globDir, 'rules.yml'), rules('<**>'))
t.teardown(() => rmSync(globDir, { recursive: true, force: true }))
const gateways = {
  regexp: await startGateway({ 'rules.yml': rules('<.*>') }, proxyOnly(false)),
  glob: await startGateway({}, { ...proxyOnly(false), access_rules: { repositories: [globDir], matching_strategy: 'glob' } }),
  trusted: await startGateway({ 'rules.yml': rules('<.*>') }, proxyOnly(true)),
}
t.teardown(() => Promise.all(Object.values(gateways).map((g) => g.close())))
const portOf = (url: string): number => Number(new URL(url).port)

/** One request of the corpus. */
interface Row {
  /** The request target, byte for byte (between method and version). */
  readonly target: string
  readonly method?: string
  readonly version?: string
  /** Header lines; default `Host: gw.test`. */
  readonly headers?: readonly string[]
  /** The status, or 'closed': the connection is closed without an answer. */
  readonly status: number | 'closed'
  /** The path (and query) the upstream must see, or null: nothing may reach it. */
  readonly forwarded: string | null
  /** Why the row is there, when the target does not say it. */
  readonly note?: string
}

const HOST = ['Host: gw.test']
const r = (target: string, status: number | 'closed', forwarded: string | null, extra: Partial<Row> = {}): Row => ({ target, status, forwarded, ...extra })

/** The path corpus, for both matching strategies and both trust settings. */
const PATHS: readonly Row[] = [
  // The doors themselves.
  r('/public/x', 200, '/public/x'),
  r('/public/x?a=/../admin&b=%2f', 200, '/public/x?a=/../admin&b=%2f', { note: 'the query is not part of the path' }),
  r('/admin/x', 401, null),
  r('/internal/x', 403, null),
  r('/elsewhere', 404, null),
  // Dot segments, plain and encoded (%2e is an unreserved '.', so it is a dot segment too).
  r('/public/../admin/x', 401, null),
  r('/public/%2e%2e/admin/x', 401, null),
  r('/public/%2E%2e/admin/x', 401, null),
  r('/public/.%2e/admin/x', 401, null),
  r('/public/%2e./admin/x', 401, null),
  r('/%2e%2e/admin/x', 401, null),
  r('/public/a/b/../../../admin/x', 401, null),
  r('/public/../../../../internal/x', 403, null),
  r('/public/./x', 200, '/public/x'),
  r('/./admin/x', 401, null),
  r('/public/x/..', 200, '/public/'),
  r('/public/..', 404, null, { note: 'climbs to /' }),
  r('/public/...', 200, '/public/...', { note: 'three dots are a name' }),
  r('/public/..%2e', 200, '/public/...'),
  r('/admin/../public/x', 200, '/public/x'),
  // A fragment has no place in a request target; URL parsers upstream would cut the path there.
  r('/public/..#/x', 400, null, { note: 'read as "/public/.." = "/" by URL parsers' }),
  r('/public/x#frag', 400, null),
  r('/admin/x#/../../public/x', 400, null),
  // Encoded and double-encoded separators.
  r('/public/..%2fadmin/x', 400, null),
  r('/public/..%2Fadmin/x', 400, null),
  r('/public/%2e%2e%2fadmin/x', 400, null),
  r('/public%2f..%2fadmin/x', 400, null),
  // Double (and deeper) encoding of '.', '/', '\\': an upstream that decodes twice reads '..' and '/'.
  r('/public/..%252fadmin/x', 400, null, { note: 'one decoding gives %2f, two give /' }),
  r('/public/..%252Fadmin/x', 400, null),
  r('/public/%252e%252e/admin/x', 400, null),
  r('/public/%252E%252E/admin/x', 400, null),
  r('/public/..%255cadmin/x', 400, null),
  r('/public/..%25252fadmin/x', 400, null, { note: 'triple encoding' }),
  r('/public/%25%32%65%25%32%65/admin/x', 400, null, { note: '%32 %65 are unreserved: decoded, giving %252e' }),
  r('/public/100%25', 200, '/public/100%25', { note: 'an escaped % alone is fine' }),
  r('/public/%2541', 200, '/public/%2541', { note: 'an escaped % before other hex is fine' }),
  // Reserved characters escaped: matched decoded (as Oathkeeper), forwarded escaped.
  r('/public/urn:foo:w%3Fr', 200, '/public/urn:foo:w%3Fr'),
  r('/public/a%23b', 200, '/public/a%23b'),
  r('/public/a%20b%3bc', 200, '/public/a%20b%3Bc'),
  r('/public/x%00', 400, null),
  r('/public/%zz', 400, null),
  r('/public/%4', 400, null),
  // Doubled slashes.
  r('//admin/x', 401, null),
  r('///admin/x', 401, null),
  r('/public//x', 200, '/public/x'),
  r('/public//../admin/x', 401, null),
  // Path parameters (Java servlet containers strip ";…" before resolving dots).
  r('/public/x;jsessionid=0123456789ABCDEF', 200, '/public/x;jsessionid=0123456789ABCDEF'),
  r('/public/..;/admin/x', 400, null),
  r('/public/..;jsessionid=1/admin/x', 400, null),
  r('/public/.;/admin/x', 400, null),
  r('/public/%2e%2e;/admin/x', 400, null),
  r('/public/..%3b/admin/x', 400, null, { note: 'a ";" escaped: decoded before stripping by some containers' }),
  r('/public/.%3B/admin/x', 400, null),
  r('/public;jsessionid=1/../admin/x', 401, null),
  r('/admin;jsessionid=1/x', 404, null, { note: 'a container would serve /admin/x: not forwarded' }),
  // Backslashes, raw and encoded.
  r('/public/..\\admin\\x', 400, null),
  r('/public\\..\\admin/x', 400, null),
  r('/public/..%5cadmin/x', 400, null),
  r('/public/..%5Cadmin/x', 400, null),
  // Case: rules are case-sensitive, so a different case is another (unknown) path.
  r('/ADMIN/x', 404, null),
  r('/Admin/x', 404, null),
  r('/PUBLIC/x', 404, null),
  r('/PUBLIC/../admin/x', 401, null),
  r('/public/X', 200, '/public/X'),
  r('/public/%7euser', 200, '/public/~user', { note: 'an escaped unreserved character is decoded' }),
  r('/public/%c3%a9', 200, '/public/%C3%A9', { note: 'UTF-8 stays escaped, hex upper-cased' }),
  r('/public/caf%E9', 200, '/public/caf%E9', { note: 'a Latin-1 byte is no UTF-8 sequence: kept' }),
  // Overlong UTF-8: '/' as %C0%AF (2 bytes), %E0%80%AF (3), %F0%80%80%AF (4); '.' as %C0%AE.
  r('/public/%c0%af', 400, null),
  r('/public/..%c0%afadmin%c0%afx', 400, null),
  r('/public/..%e0%80%afadmin/x', 400, null),
  r('/public/..%f0%80%80%afadmin/x', 400, null),
  r('/public/%c0%ae%c0%ae/admin/x', 400, null),
  r('/public/%c1%9c..%c1%9cadmin', 400, null, { note: "overlong '\\'" }),
  // Unicode look-alikes of '/', '\\', '.' (fullwidth, division slash, one dot leader), escaped;
  // raw non-ASCII bytes in the request line are refused by Node's parser.
  r('/public/..%ef%bc%8fadmin%ef%bc%8fx', 400, null, { note: 'fullwidth solidus U+FF0F' }),
  r('/public/%ef%bc%8e%ef%bc%8e/admin/x', 400, null, { note: 'fullwidth full stop U+FF0E' }),
  r('/public/..%ef%bc%bcadmin', 400, null, { note: 'fullwidth reverse solidus U+FF3C' }),
  r('/public/..%e2%88%95admin', 400, null, { note: 'division slash U+2215 (Windows best fit)' }),
  r('/public/%e2%80%a5/admin/x', 400, null, { note: 'two dot leader U+2025 (NFKC "..")' }),
  r('/public/..\u00ef\u00bc\u008fadmin', 400, null, { note: 'U+FF0F as raw bytes' }),
  // Request-target forms other than origin-form.
  r('http://gw.test/admin/x', 400, null, { note: 'absolute-form' }),
  r('http://gw.test/public/x', 400, null, { note: 'absolute-form is refused whatever it names' }),
  r('http://other/admin/x', 400, null),
  r('https://gw.test/secure/x', 400, null),
  r('*', 400, null, { method: 'OPTIONS', note: 'asterisk-form' }),
  r('gw.test:80', 'closed', null, { method: 'CONNECT', note: 'authority-form: no tunnels' }),
  r('admin/x', 400, null, { note: 'no leading slash' }),
  // Methods and versions.
  r('/public/x', 400, null, { method: 'get', note: 'methods are case-sensitive tokens' }),
  r('/admin/x', 400, null, { method: 'get' }),
  r('/public/x', 200, '/public/x', { method: 'DELETE' }),
  r('/admin/x', 401, null, { method: 'POST', headers: [...HOST, 'Content-Length: 0'] }),
  r('/public/x', 200, '/public/x', { version: 'HTTP/1.0' }),
  r('/public/x', 400, null, { version: 'HTTP/1.2' }),
  r('/admin/x', 401, null, { version: 'HTTP/1.0' }),
]

/** Host header games, without trusting X-Forwarded-*. */
const HOSTS_UNTRUSTED: readonly Row[] = [
  r('/public/x', 200, '/public/x', { headers: ['Host: GW.TEST'], note: 'host names are case-insensitive' }),
  r('/public/x', 200, '/public/x', { headers: ['Host:   gw.test  '], note: 'whitespace around the value' }),
  r('/public/x', 404, null, { headers: ['Host: gw.test:80'], note: 'a port is part of what is matched' }),
  r('/public/x', 404, null, { headers: ['Host: gw.test.'] }),
  r('/public/x', 404, null, { headers: ['Host: other'] }),
  r('/public/x', 404, null, { headers: ['Host: other', 'X-Forwarded-Host: gw.test'], note: 'X-Forwarded-Host is not trusted' }),
  r('/secure/x', 404, null, { headers: [...HOST, 'X-Forwarded-Proto: https'], note: 'nor X-Forwarded-Proto' }),
  r('/public/x', 400, null, { headers: [], note: 'HTTP/1.1 without Host' }),
  r('/public/x', 400, null, { headers: [], version: 'HTTP/1.0', note: 'HTTP/1.0 without Host' }),
  r('/public/x', 400, null, { headers: ['Host: '] }),
  r('/public/x', 400, null, { headers: ['Host: gw.test', 'Host: other'], note: 'two Host headers (RFC 9112 §3.2: 400)' }),
  r('/public/x', 400, null, { headers: ['Host: other', 'Host: gw.test'] }),
  r('/x', 400, null, { headers: ['Host: gw.test/public'], note: 'a path in Host' }),
  r('/admin/x', 400, null, { headers: ['Host: gw.test/public/..'] }),
  r('/public/x', 400, null, { headers: ['Host: gw.test?'] }),
  r('/public/x', 400, null, { headers: ['Host: gw.test#'] }),
  r('/public/x', 400, null, { headers: ['Host: evil@gw.test'] }),
  r('/public/x', 400, null, { headers: ['Host: gw.test:80@evil'] }),
  r('/public/x', 400, null, { headers: ['Host: gw.test\\public'] }),
  r('/public/x', 400, null, { headers: ['Host: gw.test:abc'] }),
  r('/public/x', 400, null, { headers: ['Host: gw.test, other'] }),
  r('/public/x', 400, null, { headers: ['Host: gw test'] }),
]

/** Host header games with a trusted front proxy matching X-Forwarded-Host: X-Forwarded-Host/Proto decide, checked like Host. */
const HOSTS_TRUSTED: readonly Row[] = [
  r('/public/x', 200, '/public/x', { headers: ['Host: internal.lb', 'X-Forwarded-Host: gw.test'] }),
  r('/public/x', 200, '/public/x', { headers: ['Host: internal.lb', 'X-Forwarded-Host: GW.test, proxy.internal'], note: 'first value, any case' }),
  r('/public/x', 200, '/public/x', { headers: [...HOST, 'X-Forwarded-Host: '], note: 'empty: the Host header' }),
  r('/admin/x', 401, null, { headers: ['Host: other', 'X-Forwarded-Host: gw.test'] }),
  r('/secure/x', 200, '/secure/x', { headers: [...HOST, 'X-Forwarded-Proto: https'] }),
  r('/secure/x', 200, '/secure/x', { headers: [...HOST, 'X-Forwarded-Proto: HTTPS, http'] }),
  r('/secure/x', 404, null, { headers: [...HOST, 'X-Forwarded-Proto: javascript'], note: 'an unknown scheme is ignored' }),
  r('/public/x', 404, null, { headers: [...HOST, 'X-Forwarded-Proto: https'], note: '/public is an http rule' }),
  r('/x', 400, null, { headers: ['Host: other', 'X-Forwarded-Host: gw.test/public'] }),
  r('/admin/x', 400, null, { headers: ['Host: other', 'X-Forwarded-Host: gw.test/public/..'] }),
  r('/public/x', 400, null, { headers: ['Host: other', 'X-Forwarded-Host: x@gw.test'] }),
  r('/public/x', 400, null, { headers: ['Host: other', 'X-Forwarded-Host: gw.test#'] }),
  r('/public/x', 404, null, { headers: ['Host: other', 'X-Forwarded-Host: gw.test:8080'] }),
]

function requestBytes(row: Row): string {
  const headers = row.headers ?? HOST
  return [`${row.method ?? 'GET'} ${row.target} ${row.version ?? 'HTTP/1.1'}`, ...headers, 'Connection: close', '', ''].join('\r\n')
}

/** Runs one row against a gateway: checks the status, what was forwarded, and that it is what was matched. */
async function check(t: Test, port: number, row: Row): Promise<void> {
  const label = `${row.method ?? 'GET'} ${JSON.stringify(row.target)}${row.headers ? ` [${row.headers.join(' | ')}]` : ''}${row.version ? ` ${row.version}` : ''}${row.note ? ` (${row.note})` : ''}`
  const before = up.seen.length
  const ex: RawExchange = await rawExchange(port, Buffer.from(requestBytes(row), 'latin1'))
  const seen = up.seen.slice(before)
  if (row.status === 'closed') t.ok(ex.status === undefined && ex.closedByServer, `${label} → closed without an answer`)
  else t.equal(ex.status, row.status, `${label} → ${row.status}`)
  if (row.forwarded === null) {
    t.same(seen.map((s) => s.url), [], `${label}: nothing forwarded`)
    return
  }
  t.same(seen.map((s) => s.url), [row.forwarded], `${label}: forwarded as ${row.forwarded}`)
  const s = seen[0]
  if (s === undefined) return
  // What the rule matched is what was forwarded: prefix + capture = the upstream's path.
  const path = s.url.split('?')[0]!
  const prefix = path.startsWith('/secure/') ? '/secure/' : '/public/'
  // The rule matched the decoded path: an upstream that decodes the forwarded path once reads it.
  t.equal(prefix + String(s.headers['x-matched-rest']), matchPath(path), `${label}: the matched path is the forwarded path, decoded once`)
}

for (const [name, gw] of [['regexp', gateways.regexp], ['glob', gateways.glob], ['regexp, trusting X-Forwarded-*', gateways.trusted]] as const) {
  t.test(`paths (${name})`, async (t) => {
    for (const row of PATHS) await check(t, portOf(gw.proxy), row)
  })
}

t.test('Host header games, X-Forwarded-* not trusted', async (t) => {
  for (const row of HOSTS_UNTRUSTED) await check(t, portOf(gateways.regexp.proxy), row)
  // The upstream hears the Host the rule matched, never the client's X-Forwarded-Host.
  const before = up.seen.length
  await check(t, portOf(gateways.regexp.proxy), r('/public/x', 200, '/public/x', { headers: [...HOST, 'X-Forwarded-Host: evil.test', 'X-Forwarded-Proto: https', 'X-Forwarded-For: 10.6.6.6'] }))
  const s = up.seen[before]
  t.equal(s?.headers['x-forwarded-host'], 'gw.test', 'X-Forwarded-Host is the matched host')
  t.equal(s?.headers['x-forwarded-proto'], 'http')
  t.equal(s?.headers['x-forwarded-for'], '127.0.0.1', 'the client cannot forge its address')
})

t.test('Host header games, X-Forwarded-* trusted', async (t) => {
  for (const row of HOSTS_TRUSTED) await check(t, portOf(gateways.trusted.proxy), row)
})

t.test('upgrade requests take the same rules', async (t) => {
  const upgrade = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==']
  for (const row of [
    r('/admin/x', 401, null),
    r('/public/../admin/x', 401, null),
    r('/public/%2e%2e/internal/x', 403, null),
    r('/public/..%2fadmin/x', 400, null),
    r('/public/..;/admin/x', 400, null),
    r('http://gw.test/admin/x', 400, null),
  ]) {
    await check(t, portOf(gateways.regexp.proxy), { ...row, headers: [...HOST, ...upgrade] })
  }
})

// ---------------------------------------------------------------------------------------------
// The decision API gets the path from X-Forwarded-Uri (nginx auth_request, Traefik forwardAuth)
// or from its own path after /decisions. Nothing is forwarded there; what the rule matched comes
// back in the mutator's header.

interface DecisionRow {
  readonly uri: string
  readonly status: number
  /** The path the allowing rule matched, or null when it must not allow. */
  readonly matched: string | null
}

async function decide(uri: string, extra: readonly string[] = []): Promise<RawExchange> {
  const req = ['GET /decisions HTTP/1.1', 'Host: api.internal', 'X-Forwarded-Method: GET', 'X-Forwarded-Proto: http', 'X-Forwarded-Host: gw.test', `X-Forwarded-Uri: ${uri}`, ...extra, 'Connection: close', '', ''].join('\r\n')
  return rawExchange(portOf(gateways.regexp.api), Buffer.from(req, 'latin1'))
}

t.test('the decision API refuses the same tricks in X-Forwarded-Uri', async (t) => {
  // The proxy corpus, minus what only a request line can carry, through the header.
  const rows: DecisionRow[] = []
  for (const row of PATHS) {
    if (row.method !== undefined || row.version !== undefined || row.headers !== undefined || typeof row.status !== 'number') continue
    if (/^[a-z]+:|^\*|^admin/.test(row.target)) continue
    rows.push({ uri: row.target, status: row.status, matched: row.forwarded })
  }
  rows.push(
    { uri: 'http://gw.test/public/x', status: 400, matched: null },
    { uri: '', status: 404, matched: null },
    { uri: '/public/x /../../admin/x', status: 401, matched: null },
  )
  for (const row of rows) {
    const ex = await decide(row.uri)
    const label = `X-Forwarded-Uri: ${JSON.stringify(row.uri)}`
    t.equal(ex.status, row.status, `${label} → ${row.status}`)
    if (row.matched !== null) {
      const path = row.matched.split('?')[0]!
      t.equal(`/public/${ex.responses[0]?.headers['x-matched-rest'] ?? ''}`, matchPath(path), `${label}: matched ${path}, decoded`)
    }
  }
})

t.test('the decision API path after /decisions is normalised the same way', async (t) => {
  for (const [target, status] of [
    ['/decisions/public/x', 200],
    ['/decisions/public/../admin/x', 401],
    ['/decisions/../admin/x', 401],
    ['/decisions/public/%2e%2e/internal/x', 403],
    ['/decisions/public/..%2fadmin/x', 400],
    ['/decisions/public/..;/admin/x', 400],
    ['/decisions/public/%c0%ae%c0%ae/admin/x', 400],
    ['/decisions//admin/x', 401],
  ] as const) {
    const ex = await rawExchange(portOf(gateways.regexp.api), `GET ${target} HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`)
    t.equal(ex.status, status, `${target} → ${status}`)
  }
})

t.test('no path the upstream saw leads to /admin or /internal, however leniently read', async (t) => {
  const all: Seen[] = up.seen
  t.ok(all.length > 60, `${all.length} requests reached the upstream`)
  for (const s of all) {
    const first = lenientSegments(s.url)[0]
    t.notOk(first === 'admin' || first === 'internal', `${s.url} reads as /${lenientSegments(s.url).join('/')}`)
  }
})

t.test('property: no segment of a path the gateway accepts reads as a separator or a dot segment', async (t) => {
  // Paths built from the ingredients of the corpus. Whatever normalizePath accepts is stable, and
  // a lenient server may read a segment's name differently (';params' stripped, one decoding)
  // but never as '.', '..' or as containing '/' or '\\': the segments the rule matched are the
  // segments the upstream serves.
  const piece = fc.oneof(
    fc.constantFrom('/', '//', '.', '..', '%2e', '%2E', '%2f', '%5c', '\\', ';', '%3b', 'jsessionid=1', '%25', '2f', '%c0', '%af', '%ae', '%80', '%e0', '%ef%bc%8f', '%ef%bc%8e', '%e2%88%95', '%c3%a9', '%00', '#', 'admin', 'public', 'x'),
    fc.constantFrom('\u00c0\u00af', '\u00ef\u00bc\u008f', '\u00e9'),
  )
  let accepted = 0
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
      const raw = `/${pieces.join('')}`
      let path: string
      try {
        path = normalizePath(raw)
      } catch (err) {
        if (err instanceof GatehouseError && err.status === 400) return
        throw err
      }
      accepted++
      if (normalizePath(path) !== path) throw new Error(`${raw}: ${path} is not stable`)
      // What rules match has the same segments, none of them a dot segment.
      const matched = matchPath(path).split('/')
      if (matched.length !== path.split('/').length || matched.some((m) => m === '.' || m === '..')) {
        throw new Error(`${raw} → ${path}: matched as ${matchPath(path)}, other segments`)
      }
      for (const seg of path.split('/').slice(1)) {
        if (seg.includes('#')) throw new Error(`${raw} → ${path}: a fragment would cut the path short`)
        const decoded = lenientDecode(seg)
        for (const reading of [decoded, decoded.split(';')[0]!, lenientDecode(seg.split(';')[0]!)]) {
          if (reading === '.' || reading === '..' || /[/\\]/.test(reading)) {
            throw new Error(`${raw} → ${path}: segment ${JSON.stringify(seg)} reads as ${JSON.stringify(reading)}`)
          }
        }
      }
    }),
    { numRuns: 3000 },
  )
  t.ok(accepted > 300, `${accepted} paths accepted`)
})
