/**
 * The function table: Go's text/template builtins, Oathkeeper's `print`/`printIndex` overrides
 * and the sprig subset (sprig.ts). Arity is checked at compile time from min/max.
 */
import { formatValue, sprint, sprintf, sprintln } from './format.js'
import { SPRIG } from './sprig.js'
import { ExecError, goType, isMap, isNil, toInt, toStr, truth } from './values.js'

export interface FuncDef {
  readonly min: number
  readonly max: number
  /** Lazy functions (and, or) get thunks instead of values, so they can short-circuit. */
  readonly lazy?: boolean
  readonly fn: (args: unknown[]) => unknown
}

const def = (min: number, max: number, fn: (args: unknown[]) => unknown): FuncDef => ({ min, max, fn })
const ANY = Infinity
type Thunk = () => unknown

const BUILTINS: Readonly<Record<string, FuncDef>> = {
  // Oathkeeper replaces print: one nil (missing) argument prints "" rather than "<nil>".
  print: def(0, ANY, (a) => (a.length === 1 ? (isNil(a[0]) ? '' : formatValue(a[0])) : sprint(a))),
  printf: def(1, ANY, (a) => sprintf(toStr(a[0]), a.slice(1))),
  println: def(0, ANY, sprintln),
  // Oathkeeper: element i of a slice, "" for nil, non-slices and out-of-range indexes.
  printIndex: def(2, 2, ([list, i]) => {
    const n = toInt(i, 'printIndex')
    if (!Array.isArray(list) || n >= list.length) return ''
    if (n < 0) throw new ExecError(`index out of range: ${n}`)
    return formatValue(list[n])
  }),
  index: def(1, ANY, ([item, ...keys]) => index(item, keys)),
  len: def(1, 1, ([v]) => length(v)),
  not: def(1, 1, ([v]) => !truth(v)),
  and: { min: 1, max: ANY, lazy: true, fn: (a) => lazyPick(a as Thunk[], false) },
  or: { min: 1, max: ANY, lazy: true, fn: (a) => lazyPick(a as Thunk[], true) },
  eq: def(2, ANY, ([x, ...ys]) => ys.some((y) => equal(x, y))),
  ne: def(2, 2, ([x, y]) => !equal(x, y)),
  lt: def(2, 2, ([x, y]) => compare(x, y) < 0),
  le: def(2, 2, ([x, y]) => compare(x, y) <= 0),
  gt: def(2, 2, ([x, y]) => compare(x, y) > 0),
  ge: def(2, 2, ([x, y]) => compare(x, y) >= 0),
  html: def(0, ANY, (a) => escapeArgs(a).replace(/[<>&'"\0]/g, (c) => HTML[c] ?? c)),
  js: def(0, ANY, (a) => jsEscape(escapeArgs(a))),
  urlquery: def(0, ANY, (a) => queryEscape(escapeArgs(a))),
}

/** Every function a template can name; the prototype is null so names like `constructor` miss. */
export const FUNCS: Readonly<Record<string, FuncDef>> = Object.assign(Object.create(null) as Record<string, FuncDef>, SPRIG, BUILTINS)

/** Go 1.18 and/or: the first falsy (and) or truthy (or) argument, else the last one. */
function lazyPick(thunks: Thunk[], want: boolean): unknown {
  let v: unknown
  for (const t of thunks) {
    v = t()
    if (truth(v) === want) return v
  }
  return v
}

function index(item: unknown, keys: readonly unknown[]): unknown {
  if (isNil(item)) throw new ExecError('index of untyped nil')
  for (const key of keys) {
    if (isNil(item)) throw new ExecError('index of nil pointer')
    if (Array.isArray(item) || typeof item === 'string') {
      const i = toInt(key, 'index')
      if (i < 0 || i >= item.length) throw new ExecError(`index out of range: ${i}`)
      // A Go string indexes to a byte.
      item = typeof item === 'string' ? BigInt(Buffer.from(item)[i] ?? 0) : item[i]
    } else if (isMap(item)) {
      if (typeof key !== 'string') throw new ExecError(`value has type ${goType(key)}; should be string`)
      item = Object.hasOwn(item, key) ? item[key] : undefined
    } else {
      throw new ExecError(`can't index item of type ${goType(item)}`)
    }
  }
  return item
}

function length(v: unknown): bigint {
  if (isNil(v)) throw new ExecError('len of nil pointer')
  if (typeof v === 'string') return BigInt(Buffer.byteLength(v)) // Go counts UTF-8 bytes
  if (Array.isArray(v)) return BigInt(v.length)
  if (isMap(v)) return BigInt(Object.keys(v).length)
  throw new ExecError(`len of type ${goType(v)}`)
}

type Kind = 'nil' | 'bool' | 'string' | 'number' | 'other'
function kind(v: unknown): Kind {
  if (isNil(v)) return 'nil'
  const t = typeof v
  return t === 'boolean' ? 'bool' : t === 'string' ? 'string' : t === 'number' || t === 'bigint' ? 'number' : 'other'
}

/**
 * Go's eq for basic kinds. One deliberate leniency: Go refuses to compare an int literal with
 * a float64 from JSON (`eq .Extra.n 1` fails there); here numbers compare by value.
 */
function equal(x: unknown, y: unknown): boolean {
  const kx = kind(x)
  const ky = kind(y)
  if (kx === 'nil' || ky === 'nil') return kx === ky
  if (kx !== ky) throw new ExecError('incompatible types for comparison')
  if (kx === 'number') return Number(x) === Number(y)
  if (kx === 'other' && (Array.isArray(x) || isMap(x))) throw new ExecError(`non-comparable type ${goType(x)}`)
  return x === y
}

function compare(x: unknown, y: unknown): number {
  const kx = kind(x)
  const ky = kind(y)
  if (kx !== 'number' && kx !== 'string') throw new ExecError('invalid type for comparison')
  if (kx !== ky) throw new ExecError('incompatible types for comparison')
  const a = kx === 'number' ? Number(x) : (x as string)
  const b = kx === 'number' ? Number(y) : (y as string)
  return a < b ? -1 : a > b ? 1 : 0
}

/** Go's evalArgs for html/js/urlquery: one string as is, else Sprint with nil as "<no value>". */
function escapeArgs(a: readonly unknown[]): string {
  if (a.length === 1 && typeof a[0] === 'string') return a[0]
  return sprint(a.map((v) => (isNil(v) ? '<no value>' : v)))
}

const HTML: Readonly<Record<string, string>> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' }

function jsEscape(s: string): string {
  let out = ''
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0
    if (JS[ch] !== undefined) out += JS[ch]
    else if (cp < 0x20) out += '\\u00' + cp.toString(16).toUpperCase().padStart(2, '0')
    else if (cp < 0x80 || /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) out += ch
    else out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0')
  }
  return out
}
const JS: Readonly<Record<string, string>> = { '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D' }

/** url.QueryEscape: unreserved bytes kept, space as '+', the rest %XX of the UTF-8 bytes. */
function queryEscape(s: string): string {
  let out = ''
  for (const b of Buffer.from(s)) {
    const c = String.fromCharCode(b)
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c
    else out += b === 0x20 ? '+' : '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}
