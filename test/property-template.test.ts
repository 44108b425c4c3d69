import t from 'tap'
import fc from 'fast-check'
import { ConfigError, GatehouseError } from '../src/errors.js'
import { newSession } from '../src/pipeline/session.js'
import { compileTemplate, type Template } from '../src/pipeline/template.js'
import { FUNCS } from '../src/pipeline/template/funcs.js'
import { cpuMs } from './helpers/cpu-time.js'
import { usePropertySeed } from './helpers/property-seed.js'

// Property tests for the template engine: any template source compiles to a template or a
// ConfigError, and rendering any data returns a string or throws GATEHOUSE_ERR_TEMPLATE, in
// bounded time. Rule authors write the sources; clients (headers, captures) and token issuers
// (claims) supply the data.

usePropertySeed(t)

/** Most CPU time one render may take. A runaway loop takes seconds. */
const RENDER_BOUND_MS = 250

function compile(source: string): Template | ConfigError {
  try {
    return compileTemplate(source, 'prop')
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw new Error(`compiling ${JSON.stringify(source)} threw ${String(err)}, not a ConfigError`)
  }
}

/** Renders, allowing only a string or a GATEHOUSE_ERR_TEMPLATE, within the bound. */
function render(tpl: Template, data: unknown, source: string): string | GatehouseError {
  const { value: out, ms } = cpuMs((): string | GatehouseError => {
    try {
      const s = tpl(data)
      if (typeof s !== 'string') throw new Error(`rendering ${JSON.stringify(source)} returned ${typeof s}`)
      return s
    } catch (err) {
      if (!(err instanceof GatehouseError) || err.code !== 'GATEHOUSE_ERR_TEMPLATE') {
        throw new Error(`rendering ${JSON.stringify(source)} threw ${String(err)}, not GATEHOUSE_ERR_TEMPLATE`)
      }
      return err
    }
  })
  if (ms > RENDER_BOUND_MS) throw new Error(`rendering ${JSON.stringify(source)} took ${ms.toFixed(0)} ms of CPU`)
  return out
}

const FUNC_NAMES = Object.keys(FUNCS)

// Data as the pipeline hands it over: a session whose Extra holds arbitrary JSON (token claims),
// headers a client chose, and the captures of the matched URL.
const text = fc.string({ maxLength: 20 })
const session = fc
  .record({
    subject: text,
    extra: fc.dictionary(fc.constantFrom('a', 'b', 'n', 'list', 'sub', 'scp', 'x'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
    captures: fc.array(text, { maxLength: 3 }),
    header: fc.dictionary(fc.constantFrom('x-a', 'x-b', 'authorization'), text, { maxKeys: 3 }),
  })
  .map(({ subject, extra, captures, header }) => {
    const req = { method: 'GET', url: new URL('http://a.test/p?q=1'), headers: header, remoteAddress: '127.0.0.1', requestId: 'r' }
    const s = newSession(req, captures)
    s.Subject = subject
    s.Extra = extra
    return s
  })
const data = fc.oneof(session, fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined))

// Token soup: fragments of the template language glued together at random. Most results are
// syntax errors, which is the point: the parser must turn every one into a ConfigError.
const fragment = fc.oneof(
  fc.constantFrom('{{', '}}', '{{- ', ' -}}', '{{/*', '*/}}', ' ', '|', '(', ')', ',', ':=', '=', '$', '$x', '$y', '.', '..', '.Extra', '.Extra.a', '.Subject'),
  fc.constantFrom('if', 'else', 'end', 'range', 'with', 'break', 'continue', 'define', 'template', 'block', 'nil', 'true', 'false'),
  fc.constantFrom(...FUNC_NAMES),
  fc.constantFrom('0', '1', '-1', '1e3', '0x1F', "'a'", "'\\n'", '"a"', '"\\u00e9"', '"\\x"', '`raw`', '3.5', '1_000', '99999999999999999999'),
  fc.string({ maxLength: 4 }),
)
const soup = fc.array(fragment, { maxLength: 24 }).map((parts) => parts.join(''))

// Well-formed templates, so that execution gets exercised too: actions whose pipelines call
// functions with operands drawn from the data, literals and other pipelines.
const { action } = fc.letrec<{ operand: string; command: string; pipeline: string; action: string }>((tie) => ({
  operand: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: fc.constantFrom('.', '.Subject', '.Extra', '.Extra.a', '.Extra.list', '.Extra.n', '.MatchContext.RegexpCaptureGroups', '.MatchContext.Method', '$', 'nil', 'true', '0', '1', '-2', '3.5', '7', '100000', '300000000', "'x'", '"a,b"', '""', '","', '"%d %s %v %q %x %5.2f %10s %-3d"') },
    { weight: 1, arbitrary: tie('pipeline').map((p) => `(${p})`) },
  ),
  command: fc.tuple(fc.constantFrom(...FUNC_NAMES), fc.array(tie('operand'), { maxLength: 3 })).map(([f, args]) => [f, ...args].join(' ')),
  pipeline: fc.tuple(fc.oneof(tie('command'), tie('operand')), fc.array(tie('command'), { maxLength: 2 })).map(([head, rest]) => [head, ...rest].join(' | ')),
  action: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: tie('pipeline').map((p) => `{{ ${p} }}`) },
    { weight: 1, arbitrary: fc.tuple(tie('pipeline'), tie('action')).map(([p, a]) => `{{ if ${p} }}${a}{{ else }}-{{ end }}`) },
    { weight: 1, arbitrary: fc.tuple(tie('pipeline'), tie('action')).map(([p, a]) => `{{ range $i, $v := ${p} }}${a}{{ end }}`) },
    { weight: 1, arbitrary: fc.tuple(tie('pipeline'), tie('action')).map(([p, a]) => `{{ with $x := ${p} }}${a}{{ end }}`) },
  ),
}))
const wellFormed = fc.array(fc.oneof(action, fc.constantFrom('text ', '-', '')), { minLength: 1, maxLength: 4 }).map((parts) => parts.join(''))

t.test('any token soup compiles to a template or a ConfigError; rendering is bounded', async (t) => {
  fc.assert(
    fc.property(soup, data, (source, d) => {
      const tpl = compile(source)
      if (tpl instanceof ConfigError) {
        if (!/^template: prop/.test(tpl.message)) throw new Error(`the ConfigError does not name the template: ${tpl.message}`)
        return
      }
      render(tpl, d, source)
    }),
    { numRuns: 1500 },
  )
})

t.test('well-formed templates render any data to a string or GATEHOUSE_ERR_TEMPLATE, in bounded time', async (t) => {
  let rendered = 0
  let failed = 0
  fc.assert(
    fc.property(wellFormed, fc.array(data, { minLength: 1, maxLength: 3 }), (source, inputs) => {
      const tpl = compile(source)
      if (tpl instanceof ConfigError) return // e.g. a wrong argument count, found at load
      for (const d of inputs) {
        if (typeof render(tpl, d, source) === 'string') rendered++
        else failed++
      }
    }),
    { numRuns: 1200 },
  )
  t.ok(rendered > 100, `${rendered} renders produced a string`)
  t.ok(failed > 50, `${failed} renders failed with GATEHOUSE_ERR_TEMPLATE`)
})

t.test('rendering is deterministic', async (t) => {
  fc.assert(
    fc.property(wellFormed, data, (source, d) => {
      const tpl = compile(source)
      if (tpl instanceof ConfigError) return
      const a = render(tpl, d, source)
      const b = render(tpl, d, source)
      const show = (v: string | GatehouseError): string => (typeof v === 'string' ? v : `error: ${v.reason}`)
      if (show(a) !== show(b)) throw new Error(`${source}: ${show(a)} then ${show(b)}`)
    }),
    { numRuns: 300 },
  )
})

/** Renders a template that is expected to finish; the result or the failure's reason. */
function outcome(source: string, d: unknown = {}): string {
  const tpl = compile(source)
  if (tpl instanceof ConfigError) return `ConfigError: ${tpl.message}`
  const r = render(tpl, d, source)
  return typeof r === 'string' ? r : `GatehouseError: ${r.reason ?? ''}`
}

t.test('loops and widths a template can ask for are bounded', async (t) => {
  // Before the bounds: 18 s for the first, and a 400 MB string for the first printf.
  t.match(outcome('{{ range 300000000 }}{{ end }}'), /GatehouseError: .*range/)
  t.match(outcome('{{ range $i := 2000 }}{{ range 2000 }}x{{ end }}{{ end }}'), /GatehouseError: .*range/)
  t.equal(outcome('{{ range 3 }}x{{ end }}'), 'xxx', 'small loops still run')
  t.equal(outcome('{{ range $i, $v := 100000 }}{{ end }}ok'), 'ok', 'as do loops of up to 100,000 steps in all')
  // Go's fmt refuses widths and precisions above 1e6 and reports the verb as missing.
  t.equal(outcome('{{ printf "%400000000d" 1 }}'), '%!(NOVERB)%!(EXTRA int=1)')
  t.equal(outcome('{{ printf "%.99999999f|%s" 1.5 "x" }}'), '%!(NOVERB)%!(EXTRA float64=1.5, string=x)')
  t.equal(outcome('{{ printf "%5d|%-4s|%.2f" 42 "ab" 3.14159 }}'), '   42|ab  |3.14', 'ordinary widths are unchanged')
  t.equal(outcome('{{ printf "%1000000d" 1 }}').length, 1_000_000, 'a width of 1e6 is still honoured, as in Go')
  // Output that outgrows any header or payload is cut short with an error, not built up to the engine's string limit.
  t.match(outcome('{{ $x := printf "%1000000s" "a" }}{{ range 100 }}{{ $x }}{{ end }}'), /GatehouseError: .*output/)
})
