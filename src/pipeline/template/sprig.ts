/**
 * The sprig (v2, as Oathkeeper bundles it) functions rule templates use most, with sprig's
 * argument order: the piped value comes last (`{{ .Extra.groups | join "," }}`).
 */
import type { FuncDef } from './funcs.js'
import { formatValue, goQuote } from './format.js'
import { ExecError, goType, isNil, sortedKeys, toStr, truth } from './values.js'

const def = (min: number, max: number, fn: (args: unknown[]) => unknown): FuncDef => ({ min, max, fn })
const ANY = Infinity

/** sprig's strval: strings as is, bytes decoded, Stringers and errors as text, else %v. */
function strval(v: unknown): string {
  if (typeof v === 'string') return v
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8')
  if (v instanceof Error) return v.message
  return formatValue(v)
}

/** sprig's strslice: a list's non-nil elements as strings; a scalar becomes a one-element list. */
function strslice(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x) => !isNil(x)).map(strval)
  return isNil(v) ? [] : [strval(v)]
}

/** strings.Split: an empty separator splits into characters. */
const split = (sep: unknown, s: unknown): string[] => (toStr(sep) === '' ? Array.from(toStr(s)) : toStr(s).split(toStr(sep)))

function listEnd(v: unknown, fname: string, last: boolean): unknown {
  if (!Array.isArray(v)) throw new ExecError(`Cannot find ${fname} on type ${goType(v)}`)
  return v.length === 0 ? undefined : v[last ? v.length - 1 : 0]
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** base64.StdEncoding (padding required); sprig returns the error text instead of failing. */
function b64dec(s: string): string {
  const clean = s.replace(/[\r\n]/g, '')
  if (!BASE64.test(clean)) {
    const bad = clean.search(/[^A-Za-z0-9+/=]|=(?!=?$)/)
    return `illegal base64 data at input byte ${bad >= 0 ? bad : clean.length - (clean.length % 4)}`
  }
  return Buffer.from(clean, 'base64').toString('utf8')
}

/** encoding/json.Marshal: sorted map keys, HTML-safe escapes; unsupported values → error. */
function goJson(v: unknown): string {
  if (isNil(v)) return 'null'
  switch (typeof v) {
    case 'string': return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
    case 'boolean': return String(v)
    case 'bigint': return v.toString()
    case 'number':
      if (!Number.isFinite(v)) throw new ExecError(`json: unsupported value: ${formatValue(v)}`)
      return JSON.stringify(v)
    case 'function': throw new ExecError('json: unsupported type: func')
  }
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`
  if (v instanceof Uint8Array) return goJson(Buffer.from(v).toString('base64'))
  const o = v as Record<string, unknown>
  if (typeof o.toJSON === 'function') return goJson((o.toJSON as () => unknown)())
  // Methods (HeaderView.Get) stand where Go has plain data; leave them out rather than fail.
  const keys = sortedKeys(o).filter((k) => typeof o[k] !== 'function')
  return `{${keys.map((k) => `${goJson(k)}:${goJson(o[k])}`).join(',')}}`
}

export const SPRIG: Readonly<Record<string, FuncDef>> = {
  default: def(1, ANY, ([d, ...given]) => (given.length === 0 || !truth(given[0]) ? d : given[0])),
  empty: def(1, 1, ([v]) => !truth(v)),
  coalesce: def(0, ANY, (a) => a.find(truth)),
  join: def(2, 2, ([sep, list]) => strslice(list).join(toStr(sep))),
  lower: def(1, 1, ([s]) => toStr(s).toLowerCase()),
  upper: def(1, 1, ([s]) => toStr(s).toUpperCase()),
  trim: def(1, 1, ([s]) => toStr(s).trim()),
  trimPrefix: def(2, 2, ([p, s]) => (toStr(s).startsWith(toStr(p)) ? toStr(s).slice(toStr(p).length) : toStr(s))),
  trimSuffix: def(2, 2, ([x, s]) => (toStr(x) !== '' && toStr(s).endsWith(toStr(x)) ? toStr(s).slice(0, -toStr(x).length) : toStr(s))),
  quote: def(0, ANY, (a) => a.filter((x) => !isNil(x)).map((x) => goQuote(strval(x))).join(' ')),
  squote: def(0, ANY, (a) => a.filter((x) => !isNil(x)).map((x) => `'${strval(x)}'`).join(' ')),
  toString: def(1, 1, ([v]) => strval(v)),
  toJson: def(1, 1, ([v]) => {
    try {
      return goJson(v)
    } catch {
      return '' // sprig ignores the marshal error and prints nothing
    }
  }),
  b64enc: def(1, 1, ([s]) => Buffer.from(toStr(s)).toString('base64')),
  b64dec: def(1, 1, ([s]) => b64dec(toStr(s))),
  replace: def(3, 3, ([from, to, s]) => toStr(s).replaceAll(toStr(from), toStr(to))),
  contains: def(2, 2, ([sub, s]) => toStr(s).includes(toStr(sub))),
  hasPrefix: def(2, 2, ([p, s]) => toStr(s).startsWith(toStr(p))),
  hasSuffix: def(2, 2, ([x, s]) => toStr(s).endsWith(toStr(x))),
  splitList: def(2, 2, ([sep, s]) => split(sep, s)),
  // sprig's split gives a map {_0: …, _1: …} so parts are reachable as fields.
  split: def(2, 2, ([sep, s]) => Object.fromEntries(split(sep, s).map((p, i) => [`_${i}`, p]))),
  first: def(1, 1, ([v]) => listEnd(v, 'first', false)),
  last: def(1, 1, ([v]) => listEnd(v, 'last', true)),
}
