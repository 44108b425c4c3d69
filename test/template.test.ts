import t, { type Test } from 'tap'
import { ConfigError, GatehouseError } from '../src/errors.js'
import { newSession, type AuthenticationSession } from '../src/pipeline/session.js'
import { compileTemplate } from '../src/pipeline/template.js'

function session(): AuthenticationSession {
  const s = newSession(
    {
      method: 'POST',
      url: new URL('https://api.test:8443/users/a%20b?x=1&x=2&y=z#frag'),
      headers: { 'x-foo': 'bar', authorization: 'Bearer t' },
      remoteAddress: '127.0.0.1',
      requestId: 'r1',
    },
    ['users', 'a b'],
  )
  s.Subject = 'alice'
  s.Extra = JSON.parse(
    '{"iss":"issuer","nested":{"int":10,"float64":3.14159,"bool":true,"deep":{"c":"C"}},' +
      '"example.com/claims":["Foo","Bar"],"groups":["admin","dev"],"none":null,"exp":1700000000,"zero":0,"empty":[],"map":{"b":2,"a":"x"}}',
  ) as Record<string, unknown>
  return s
}

const render = (src: string, data: unknown = session()): string => compileTemplate(src, 'test')(data)

/** The reason of the GATEHOUSE_ERR_TEMPLATE error a render throws. */
function failure(src: string, data: unknown = session()): string {
  try {
    render(src, data)
  } catch (err) {
    if (err instanceof GatehouseError && err.code === 'GATEHOUSE_ERR_TEMPLATE') return err.reason ?? ''
    throw err
  }
  return 'rendered without error'
}

/** The message of the ConfigError compiling throws. */
function compileFailure(src: string): string {
  try {
    compileTemplate(src, 'hdr')
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  return 'compiled without error'
}

/** Table of template → expected output against the session above. */
function cases(t: Test, table: readonly (readonly [string, string])[]): void {
  for (const [src, want] of table) t.equal(render(src), want, src)
}

t.test('Oathkeeper header templates render as in Oathkeeper', async (t) => {
  cases(t, [
    ['{{ print .Subject }}', 'alice'],
    ['realm:resources:users:{{ print .Subject }}', 'realm:resources:users:alice'],
    ['{{ print .Extra.iss }}', 'issuer'],
    ['{{ print .Extra.missing }}', ''],
    ['{{ print .Extra.nested.int }}|{{ print .Extra.nested.float64 }}|{{ print .Extra.nested.bool }}', '10|3.14159|true'],
    ['{{ print .Extra.nested.nil }}', ''],
    ['{{- (index .Extra "example.com/claims") | join "," -}}', 'Foo,Bar'],
    ['{{ index .MatchContext.RegexpCaptureGroups 0 }}/{{ index .MatchContext.RegexpCaptureGroups 1 }}', 'users/a b'],
    ['{{ printIndex .MatchContext.RegexpCaptureGroups 1 }}|{{ printIndex .MatchContext.RegexpCaptureGroups 7 }}|{{ printIndex .Extra.none 0 }}|{{ printIndex .Extra.iss 0 }}', 'a b|||'],
  ])
})

t.test('field chains, $ and dot follow Go map semantics', async (t) => {
  cases(t, [
    ['{{ .Subject }}', 'alice'],
    ['{{ .Extra.iss }}', 'issuer'],
    ['{{ .Extra.nested.deep.c }}', 'C'],
    ['{{ .Extra.missing }}', '<no value>'],
    ['{{ .Extra.none }}', '<no value>'],
    ['{{ .Extra.missing.deeper.still }}', '<no value>'],
    ['{{ with .Extra.nested }}{{ .int }}-{{ $.Subject }}{{ end }}', '10-alice'],
    ['{{ .Extra.exp }} {{ .Extra.nested.float64 }} {{ .Extra.zero }} {{ 1000000 }} {{ 1e6 }} {{ 1.0 }}', '1.7e+09 3.14159 0 1000000 1e+06 1'],
    ['{{ .Extra.groups }} {{ .Extra.map }} {{ .Extra.empty }} {{ true }}', '[admin dev] map[a:x b:2] [] true'],
    ['{{ print .Extra.none 1 }}', '<nil> 1'],
  ])
})

t.test('request context: method, headers and Go URL field names', async (t) => {
  cases(t, [
    ['{{ .MatchContext.Method }}', 'POST'],
    ['{{ .MatchContext.Header.Get "X-Foo" }}|{{ .MatchContext.Header.Get "X-None" }}', 'bar|'],
    ['{{ .MatchContext.URL }}', 'https://api.test:8443/users/a%20b?x=1&x=2&y=z#frag'],
    ['{{ .MatchContext.URL.Scheme }} {{ .MatchContext.URL.Host }} {{ .MatchContext.URL.Path }}', 'https api.test:8443 /users/a b'],
    ['{{ .MatchContext.URL.RawQuery }} {{ .MatchContext.URL.Fragment }}', 'x=1&x=2&y=z frag'],
    ['{{ .MatchContext.URL.Hostname }} {{ .MatchContext.URL.Port }} {{ .MatchContext.URL.RequestURI }}', 'api.test 8443 /users/a%20b?x=1&x=2&y=z'],
    ['{{ .MatchContext.URL.Query.Get "x" }} {{ .MatchContext.URL.Query.Get "q" }}| {{ index .MatchContext.URL.Query "x" }}', '1 | [1 2]'],
  ])
  t.match(failure('{{ .MatchContext.Header.Get }}'), /wrong number of args for Get: want 1 got 0/)
  t.match(failure('{{ .MatchContext.URL.User }}'), /can't evaluate field User in type \*url\.URL/)
})

t.test('literals: Go strings, raw strings, runes and numbers', async (t) => {
  cases(t, [
    ['{{ "a\\tb\\u00e9\\x41\\101\\"" }}', 'a\tbéAA"'],
    ['{{ `raw\\n{{` }}', 'raw\\n{{'],
    ["{{ 'a' }} {{ 0x1F }} {{ -3 }} {{ 0.5 }} {{ 1_000 }}", '97 31 -3 0.5 1000'],
    ['{{ printf "%v %v" nil false }}', '<nil> false'],
  ])
})

t.test('trim markers and comments', async (t) => {
  cases(t, [
    ['a  \n {{- "b" -}} \n  c', 'abc'],
    ['a {{ "b" -}} c', 'a bc'],
    ['a\n  {{- if true }}\n  b\n  {{- end }}\nc', 'a\n  b\nc'],
    ['x{{/* a comment {{ .Subject }} */}}y', 'xy'],
    ['x {{- /* trimmed */ -}} y', 'xy'],
    ['{{ -1 }}', '-1'],
  ])
})

t.test('if / else if / else, with, and Go truthiness', async (t) => {
  cases(t, [
    ['{{ if .Extra.missing }}a{{ else if .Extra.iss }}b{{ else }}c{{ end }}', 'b'],
    ['{{ if .Extra.zero }}a{{ else }}b{{ end }}{{ if .Extra.empty }}a{{ else }}b{{ end }}{{ if "" }}a{{ else }}b{{ end }}{{ if .Extra.none }}a{{ else }}b{{ end }}', 'bbbb'],
    ['{{ if .Extra.map }}y{{ end }}{{ if .Extra.groups }}y{{ end }}{{ if .MatchContext.Header }}y{{ end }}', 'yyy'],
    ['{{ with .Extra.missing }}x{{ else with .Extra.iss }}{{ . }}{{ else }}z{{ end }}', 'issuer'],
    ['{{ if $x := .Extra.iss }}{{ $x }}{{ end }}', 'issuer'],
  ])
})

t.test('range over lists, maps and ints, with variables, else, break and continue', async (t) => {
  cases(t, [
    ['{{ range .Extra.groups }}[{{ . }}]{{ end }}', '[admin][dev]'],
    ['{{ range $i, $g := .Extra.groups }}{{ $i }}={{ $g }};{{ end }}', '0=admin;1=dev;'],
    ['{{ range $k, $v := .Extra.map }}{{ $k }}:{{ $v }},{{ end }}', 'a:x,b:2,'],
    ['{{ range .Extra.empty }}x{{ else }}none{{ end }}{{ range .Extra.missing }}x{{ else }}nil{{ end }}', 'nonenil'],
    ['{{ range $v := .Extra.groups }}{{ $v }}{{ $.Subject }}{{ end }}', 'adminalicedevalice'],
    ['{{ range 3 }}{{ . }}{{ end }}', '012'],
    ['{{ range .Extra.groups }}{{ if eq . "admin" }}{{ continue }}{{ end }}{{ . }}{{ end }}', 'dev'],
    ['{{ range .Extra.groups }}{{ . }}{{ break }}{{ end }}', 'admin'],
    ['{{ $last := "" }}{{ range .Extra.groups }}{{ $last = . }}{{ end }}{{ $last }}', 'dev'],
  ])
  t.match(failure('{{ range .Subject }}{{ end }}'), /range can't iterate over alice/)
})

t.test('pipelines pass the previous value as the last argument', async (t) => {
  cases(t, [
    ['{{ .Subject | upper | quote }}', '"ALICE"'],
    ['{{ .Extra.missing | default "anon" }} {{ .Subject | default "anon" }}', 'anon alice'],
    ['{{ .Extra.groups | join "," | lower }}', 'admin,dev'],
    ['{{ "  x  " | trim | squote }}', "'x'"],
    ['{{ .Subject | printf "%s-%s" "user" }}', 'user-alice'],
    ['{{ (printf "%s:%s" .Subject .Extra.iss) | b64enc }}', 'YWxpY2U6aXNzdWVy'],
    ['{{ $x := .Subject | upper }}{{ $x }}', 'ALICE'],
    ['{{ .MatchContext | toJson }}', '{"Header":{},"Method":"POST","RegexpCaptureGroups":["users","a b"],"URL":"https://api.test:8443/users/a%20b?x=1\\u0026x=2\\u0026y=z#frag"}'],
    ['{{ .Extra.groups | toJson }} {{ .Extra.map | toJson }} {{ "<&>" | toJson }}', '["admin","dev"] {"a":"x","b":2} "\\u003c\\u0026\\u003e"'],
  ])
})

t.test('Go builtins', async (t) => {
  cases(t, [
    ['{{ printf "%s|%d|%v|%q|%%|%5.2f|%t" "s" 42 .Extra.groups "q\\"" 3.14159 true }}', 's|42|[admin dev]|"q\\""|%| 3.14|true'],
    ['{{ printf "%d" "x" }} {{ printf "%s" }} {{ printf "a" 1 }}', '%!d(string=x) %!s(MISSING) a%!(EXTRA int=1)'],
    ['{{ print 1 2 "x" 3 }}|{{ println "a" 1 }}', '1 2x3|a 1\n'],
    ['{{ index .Extra "map" "b" }} {{ index .Extra.groups 1 }} {{ index .Extra "nope" }}', '2 dev <no value>'],
    ['{{ len .Extra.groups }} {{ len .Extra.map }} {{ len "héllo" }}', '2 2 6'],
    ['{{ not .Extra.zero }} {{ and 1 .Extra.zero 2 }} {{ or .Extra.missing "" "z" }} {{ and 1 "last" }}', 'true 0 z last'],
    ['{{ eq .Subject "bob" "alice" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le "a" "a" }} {{ gt .Extra.nested.int 9 }} {{ ge 1.5 2 }}', 'true true true true true false'],
    ['{{ eq .Extra.none nil }} {{ eq .Extra.iss nil }}', 'true false'],
    ['{{ html "<a href=\'x\'>&" }}', '&lt;a href=&#39;x&#39;&gt;&amp;'],
    ['{{ js "it\'s <b>\\n" }}', "it\\'s \\u003Cb\\u003E\\u000A"],
    ['{{ urlquery "a b&c/é" }} {{ .Extra.missing | urlquery }}', 'a+b%26c%2F%C3%A9 %3Cno+value%3E'],
  ])
  // `and` short-circuits like Go 1.18+: the failing call is never made.
  t.equal(render('{{ and .Extra.zero (index .Extra.groups 9) }}'), '0')
  t.match(failure('{{ lt "a" 1 }}'), /incompatible types for comparison/)
  t.match(failure('{{ index .Extra.groups 5 }}'), /index out of range: 5/)
})

t.test('sprig functions', async (t) => {
  cases(t, [
    ['{{ lower "AbC" }} {{ upper "AbC" }} {{ trim "\\t x \\n" }}', 'abc ABC x'],
    ['{{ quote "a\\"b" .Extra.missing "c" }} {{ squote "a" "b" }}', '"a\\"b" "c" \'a\' \'b\''],
    ['{{ b64enc "hi" }} {{ b64dec "aGk=" }} {{ b64dec "a" }}', 'aGk= hi illegal base64 data at input byte 0'],
    ['{{ replace "a" "o" "banana" }} {{ contains "nan" "banana" }} {{ hasPrefix "ba" "banana" }} {{ hasSuffix "x" "banana" }}', 'bonono true true false'],
    ['{{ split "," "a,b" }} {{ (split "," "a,b")._1 }} {{ splitList "," "a,b" }}', 'map[_0:a _1:b] b [a b]'],
    ['{{ first .Extra.groups }} {{ last .Extra.groups }} {{ first .Extra.empty }}', 'admin dev <no value>'],
    ['{{ empty .Extra.empty }} {{ empty .Subject }} {{ coalesce .Extra.missing "" "c" }}', 'true false c'],
    ['{{ toString .Extra.nested.int }} {{ trimPrefix "a" "abc" }} {{ trimSuffix "c" "abc" }}', '10 bc ab'],
    ['{{ join "-" .Extra.groups }} {{ join "," .Subject }} {{ join "," .Extra.missing }}|', 'admin-dev alice |'],
  ])
  t.match(failure('{{ .Extra.exp | upper }}'), /wrong type for value; expected string; got float64/)
})

t.test('syntax errors and unknown functions fail at compile time with ConfigError', async (t) => {
  const bad: readonly (readonly [string, RegExp])[] = [
    ['{{ nosuchfn .Subject }}', /template: hdr:1:4: function "nosuchfn" not defined in "\{\{ nosuchfn \.Subject \}\}"/],
    ['{{ .Subject', /unclosed action/],
    ['a\n{{ end }}', /hdr:2:4: unexpected \{\{end\}\}/],
    ['{{ if .Subject }}x', /unexpected EOF/],
    ['{{ else }}', /unexpected \{\{else\}\}/],
    ['{{ $nope }}', /undefined variable "\$nope"/],
    ['{{ len }}', /wrong number of args for len: want 1 got 0/],
    ['{{ "a" "b" }}', /can't give argument to non-function/],
    ['{{ .Subject | "a" }}', /non executable command in pipeline/],
    ['{{ print (.Subject }}', /unclosed left paren/],
    ['{{/* x */ }}', /comment ends before closing delimiter/],
    ['{{/* x }}', /unclosed comment/],
    ['{{ 3x }}', /bad number syntax/],
    ['{{ "\\q" }}', /invalid syntax/],
    ['{{ nil }}', /nil is not a command/],
    ['{{ break }}', /\{\{break\}\} outside \{\{range\}\}/],
    ['{{ define "x" }}{{ end }}', /\{\{define\}\} is not supported/],
    ['{{ }}', /missing value for command/],
    ['{{ constructor }}', /function "constructor" not defined/],
  ]
  for (const [src, re] of bad) t.match(compileFailure(src), re, src)
})

t.test('runtime failures throw GATEHOUSE_ERR_TEMPLATE with the position', async (t) => {
  const tpl = compileTemplate('ok {{ .Subject.Foo }}', 'hdr')
  const err = t.throws(() => tpl(session())) as unknown
  t.ok(err instanceof GatehouseError)
  t.equal((err as GatehouseError).code, 'GATEHOUSE_ERR_TEMPLATE')
  t.equal((err as GatehouseError).status, 500)
  t.equal((err as GatehouseError).reason, "template: hdr:1:7: can't evaluate field Foo in type string")
})

t.test('prototype members are never reachable', async (t) => {
  cases(t, [
    ['{{ .constructor }}|{{ .Extra.__proto__ }}|{{ .Extra.prototype }}|{{ .Extra.toString }}', '<no value>|<no value>|<no value>|<no value>'],
    ['{{ .MatchContext.Header.constructor }}|{{ index .Extra "constructor" }}|{{ .Extra.hasOwnProperty }}', '<no value>|<no value>|<no value>'],
  ])
  // A JSON "__proto__" key is plain data: it reads as data and pollutes nothing.
  const data = JSON.parse('{"Extra":{"__proto__":{"polluted":"yes"}}}') as unknown
  t.equal(render('{{ .Extra.polluted }}|{{ .Extra.__proto__.polluted }}', data), '<no value>|yes')
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.match(failure('{{ .MatchContext.URL.constructor }}'), /can't evaluate field constructor/)
})

t.test('methods are called with their receiver bound; only exported prototype methods are reachable', async (t) => {
  class Claims {
    constructor(private readonly roles: string[]) {}
    Has(role: string): boolean {
      return this.roles.includes(role)
    }
    Count(): number {
      return this.roles.length
    }
    Fail(): never {
      throw new Error('boom')
    }
    secret(): string {
      return 'hidden'
    }
  }
  const data = { C: new Claims(['admin']), Obj: { Greet(this: { Name: string }, x: string) { return `${x} ${this.Name}` }, Name: 'bob' } }
  t.equal(render('{{ .C.Has "admin" }} {{ .C.Has "dev" }} {{ .C.Count }} {{ .Obj.Greet "hi" }}', data), 'true false 1 hi bob')
  t.equal(render('{{ .C.secret }}|{{ .C.constructor }}|{{ .C.roles }}', data), '<no value>|<no value>|<no value>')
  t.equal(failure('{{ .C.Fail }}', data), 'template: test:1:4: error calling Fail: boom')
  t.equal(failure('{{ .Subject.Has "x" }}', { Subject: 'alice' }), "template: test:1:4: can't evaluate field Has in type string")
})

t.test('a compiled template is reusable across data and plain text is returned as is', async (t) => {
  const tpl = compileTemplate('Bearer {{ .Subject }}')
  t.equal(tpl({ Subject: 'a' }), 'Bearer a')
  t.equal(tpl({ Subject: 'b' }), 'Bearer b')
  t.equal(compileTemplate('no actions here')(null), 'no actions here')
  t.equal(compileTemplate('')(null), '')
})
