/**
 * How template code sees JS values, mirroring Go's reflection rules: plain objects are
 * map[string]interface{}, arrays are slices, bigint is Go's int (literals, len, range
 * indexes), number is float64 (JSON), null/undefined is nil (a missing key reads as nil).
 * Lookups read own properties only, so `.constructor`, `.__proto__`, `.prototype` are missing.
 */

/** A runtime failure inside a template; the entry point adds position and wraps it. */
export class ExecError extends Error {
  pos: number | undefined
  constructor(message: string, pos?: number) {
    super(message)
    this.pos = pos
  }
}

export type Obj = Record<string, unknown>

export const isNil = (v: unknown): v is null | undefined => v === null || v === undefined

/** Plain objects (JSON-like maps) as opposed to class instances (Go structs). */
export function isMap(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null) return false
  const proto: unknown = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** Go's type name, for error messages. */
export function goType(v: unknown): string {
  if (isNil(v)) return 'nil'
  switch (typeof v) {
    case 'string': return 'string'
    case 'number': return 'float64'
    case 'bigint': return 'int'
    case 'boolean': return 'bool'
    case 'function': return 'func'
  }
  if (Array.isArray(v)) return '[]interface {}'
  if (v instanceof URL) return '*url.URL'
  return isMap(v) ? 'map[string]interface {}' : 'struct'
}

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truth(v: unknown): boolean {
  if (isNil(v)) return false
  switch (typeof v) {
    case 'boolean': return v
    case 'string': return v.length > 0
    case 'number': return v !== 0
    case 'bigint': return v !== 0n
  }
  if (Array.isArray(v)) return v.length > 0
  if (isMap(v)) {
    for (const k in v) if (Object.hasOwn(v, k)) return true
    return false
  }
  return true
}

/** An integer argument (Go int): bigint, or a float64 that holds an integer. */
export function toInt(v: unknown, what: string): number {
  if (typeof v === 'bigint') return Number(v)
  if (typeof v === 'number' && Number.isInteger(v)) return v
  throw new ExecError(isNil(v) ? `invalid value; expected int for ${what}` : `cannot use type ${goType(v)} as int for ${what}`)
}

export function toStr(v: unknown): string {
  if (typeof v === 'string') return v
  throw new ExecError(isNil(v) ? 'invalid value; expected string' : `wrong type for value; expected string; got ${goType(v)}`)
}

/** Own keys of a map in Go's order (sorted), as range and fmt use them. */
export const sortedKeys = (m: Obj): string[] => Object.keys(m).sort()

/** Reads field `name` of a receiver; called methods get `args`. */
export type FieldReader = (recv: unknown, args: readonly unknown[]) => unknown

/** Prepares the lookup of one field name once, at compile time. */
export function fieldReader(name: string): FieldReader {
  const urlField = URL_FIELDS[name]
  // Class instances expose only exported (capitalised) names, as Go structs do, so lower-case
  // names (constructor, toString, __proto__, private fields) never reach them.
  const exported = /^\p{Lu}/u.test(name)
  return (recv, args) => {
    if (isNil(recv)) return undefined // a missing map entry chains as missing, like Go's default
    // Functions are no receivers: their own `prototype` must stay out of reach.
    if (typeof recv !== 'object' || Array.isArray(recv)) throw new ExecError(`can't evaluate field ${name} in type ${goType(recv)}`)
    let v: unknown
    if (isMap(recv)) {
      if (Object.hasOwn(recv, name)) v = recv[name]
    } else if (recv instanceof URL) {
      if (urlField === undefined) throw new ExecError(`can't evaluate field ${name} in type *url.URL`)
      v = urlField(recv)
    } else if (exported) {
      // A class instance is a Go struct: fields, getters and methods, exported names only.
      v = (recv as Obj)[name]
    }
    if (typeof v === 'function') return callMethod(name, v, recv, args)
    if (args.length > 0) throw new ExecError(`${name} is not a method but has arguments`)
    return v
  }
}

function callMethod(name: string, fn: Function, recv: unknown, args: readonly unknown[]): unknown {
  if (args.length < fn.length) throw new ExecError(`wrong number of args for ${name}: want ${fn.length} got ${args.length}`)
  try {
    return fn.apply(recv, args) as unknown
  } catch (err) {
    throw new ExecError(`error calling ${name}: ${err instanceof Error ? err.message : String(err)}`)
  }
}

const unescape = (s: string): string => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** Go's url.Values from Query(): a map of lists with a Get method (first value or ""). */
function queryValues(u: URL): Obj {
  const m: Obj = Object.create(null) as Obj
  for (const [k, v] of u.searchParams) ((m[k] ??= []) as string[]).push(v)
  const get = (k: unknown): string => u.searchParams.get(String(k)) ?? ''
  const has = (k: unknown): boolean => u.searchParams.has(String(k))
  // Not enumerable: printing, range and toJson see only the parameters, as in Go.
  Object.defineProperty(m, 'Get', { value: get, enumerable: false })
  Object.defineProperty(m, 'Has', { value: has, enumerable: false })
  return m
}

/**
 * Oathkeeper exposes a Go *url.URL; our session holds a WHATWG URL. These are Go's field and
 * zero-argument method names mapped onto it.
 */
const URL_FIELDS: Readonly<Record<string, (u: URL) => unknown>> = {
  Scheme: (u) => u.protocol.slice(0, -1),
  Host: (u) => u.host,
  Path: (u) => unescape(u.pathname),
  RawPath: () => '',
  EscapedPath: (u) => u.pathname,
  RawQuery: (u) => u.search.slice(1),
  Fragment: (u) => unescape(u.hash.slice(1)),
  Opaque: () => '',
  Hostname: (u) => u.hostname.replace(/^\[(.*)\]$/, '$1'),
  Port: (u) => u.port,
  RequestURI: (u) => u.pathname + u.search,
  String: (u) => u.href,
  Query: queryValues,
}
Object.setPrototypeOf(URL_FIELDS, null)
