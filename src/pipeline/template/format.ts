/**
 * Go's fmt as templates use it: %v of the value model in values.ts (float64 as Go prints it,
 * slices as [a b], maps as map[k:v] with sorted keys), Sprint/Sprintln spacing, a Printf subset
 * and strconv.Quote.
 */
import { isMap, isNil, sortedKeys, goType } from './values.js'

/** strconv.FormatFloat(f, 'g', -1, 64), which %v uses: exponent form from 1e+06 and below 1e-04. */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN'
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf'
  if (f === 0) return Object.is(f, -0) ? '-0' : '0'
  const [mant = '', expText = '0'] = f.toExponential().split('e')
  const exp = Number(expText)
  // Shortest digits decide as with precision 6 (Go's %v rule), unlike JS's 1e21 threshold.
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp)
    return `${mant}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`
  }
  return String(f)
}

/** fmt's %v. */
export function formatValue(v: unknown): string {
  if (isNil(v)) return '<nil>'
  switch (typeof v) {
    case 'string': return v
    case 'number': return formatFloat(v)
    case 'bigint': return v.toString()
    case 'boolean': return v ? 'true' : 'false'
    case 'function': return `<func>`
  }
  if (Array.isArray(v) || v instanceof Uint8Array) return `[${Array.from(v, formatValue).join(' ')}]`
  if (v instanceof URL) return v.href
  // A String() method is Go's fmt.Stringer.
  const str = (v as { String?: unknown }).String
  if (!isMap(v) && typeof str === 'function') return String(str.call(v))
  const o = v as Record<string, unknown>
  return `map[${sortedKeys(o).map((k) => `${k}:${formatValue(o[k])}`).join(' ')}]`
}

/** What an action `{{ x }}` prints: nil (and a missing key) is "<no value>", as in Go. */
export const printTop = (v: unknown): string => (isNil(v) ? '<no value>' : formatValue(v))

/** fmt.Sprint: a space between operands when neither is a string. */
export function sprint(args: readonly unknown[]): string {
  let out = ''
  for (let i = 0; i < args.length; i++) {
    if (i > 0 && typeof args[i] !== 'string' && typeof args[i - 1] !== 'string') out += ' '
    out += formatValue(args[i])
  }
  return out
}

export const sprintln = (args: readonly unknown[]): string => args.map(formatValue).join(' ') + '\n'

/** strconv.Quote: Go escapes for quotes, backslashes and non-printable runes. */
export function goQuote(s: string): string {
  let out = '"'
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0
    if (ch === '"' || ch === '\\') out += '\\' + ch
    else if (PRINTABLE.test(ch)) out += ch
    else if (ESCAPES[ch] !== undefined) out += ESCAPES[ch]
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + hex(cp, 2)
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd' // lone surrogate: Go's RuneError
    else out += cp < 0x10000 ? '\\u' + hex(cp, 4) : '\\U' + hex(cp, 8)
  }
  return out + '"'
}
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u
const ESCAPES: Readonly<Record<string, string>> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' }
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0')

const VERB = /%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g

/**
 * fmt.Sprintf for the verbs templates use: %v %s %d %q %t %x %X %f %e %g %%, width, precision.
 * As in Go, a width or precision that grows past 1e6 while its digits are read stops the
 * formatting: `%!(NOVERB)` is written and the rest of the format dropped. Without that bound,
 * `printf "%400000000d"` would build a 400 MB string on every request.
 */
export function sprintf(format: string, args: readonly unknown[]): string {
  let next = 0
  let out = ''
  let from = 0
  VERB.lastIndex = 0
  for (let m = VERB.exec(format); m !== null; m = VERB.exec(format)) {
    out += format.slice(from, m.index)
    from = VERB.lastIndex
    const [, flags = '', width, prec, verb = ''] = m
    if (tooLarge(width) || tooLarge(prec)) {
      out += '%!(NOVERB)'
      from = format.length
      break
    }
    if (verb === '%') out += '%'
    else if (next >= args.length) out += `%!${verb}(MISSING)`
    else {
      const s = formatVerb(verb, args[next++], prec === undefined ? undefined : Number(prec), flags.includes('+'))
      out += pad(s, width === undefined ? 0 : Number(width), flags)
    }
  }
  out += format.slice(from)
  if (next >= args.length) return out
  return `${out}%!(EXTRA ${args.slice(next).map((a) => `${goType(a)}=${formatValue(a)}`).join(', ')})`
}

/** Go's parsenum overflow: before each further digit, a value above 1e6 is "too large". */
function tooLarge(digits: string | undefined): boolean {
  if (digits === undefined) return false
  let n = 0
  for (let i = 0; i < digits.length; i++) {
    if (n > 1e6) return true
    n = n * 10 + (digits.charCodeAt(i) - 0x30)
  }
  return false
}

function pad(s: string, width: number, flags: string): string {
  if (s.length >= width) return s
  if (flags.includes('-')) return s.padEnd(width)
  if (flags.includes('0') && /^[+-]?\d/.test(s)) {
    const sign = /^[+-]/.test(s) ? s[0] : ''
    return sign + s.slice(sign.length).padStart(width - sign.length, '0')
  }
  return s.padStart(width)
}

function formatVerb(verb: string, arg: unknown, prec: number | undefined, plus: boolean): string {
  const bad = (): string => `%!${verb}(${isNil(arg) ? '<nil>' : `${goType(arg)}=${formatValue(arg)}`})`
  const num = typeof arg === 'number' ? arg : typeof arg === 'bigint' ? Number(arg) : undefined
  const sign = (s: string): string => (plus && num !== undefined && num >= 0 ? '+' + s : s)
  switch (verb) {
    case 'v':
      return sign(formatValue(arg))
    case 's': {
      if (Array.isArray(arg)) return `[${arg.map((a) => formatVerb('s', a, prec, plus)).join(' ')}]`
      if (typeof arg !== 'string' && (isNil(arg) || typeof arg !== 'object')) return bad()
      const s = formatValue(arg)
      return prec === undefined ? s : Array.from(s).slice(0, prec).join('')
    }
    case 'q':
      if (typeof arg === 'string') return goQuote(arg)
      return typeof arg === 'bigint' ? `'${String.fromCodePoint(Number(arg))}'` : bad()
    case 't':
      return typeof arg === 'boolean' ? String(arg) : bad()
    case 'd':
      // Lenient where Go prints %!d(float64=3): JSON numbers are float64, so accept integral ones.
      if (typeof arg === 'bigint') return sign(arg.toString())
      return num !== undefined && Number.isInteger(num) ? sign(num.toFixed(0)) : bad()
    case 'x': case 'X': {
      let s: string
      if (typeof arg === 'string') s = Buffer.from(arg).toString('hex')
      else if (typeof arg === 'bigint') s = (arg < 0n ? '-' : '') + (arg < 0n ? -arg : arg).toString(16)
      else return bad()
      return verb === 'X' ? s.toUpperCase() : s
    }
    case 'f': case 'F':
      return num === undefined ? bad() : sign(num.toFixed(prec ?? 6))
    case 'e':
      return num === undefined ? bad() : sign(num.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2'))
    case 'g':
      return num === undefined ? bad() : sign(prec === undefined ? formatFloat(num) : String(Number(num.toPrecision(prec))))
    default:
      return bad()
  }
}
