/**
 * The GJSON path subset Oathkeeper's `subject_from` / `extra_from` are written in practice:
 *
 * | path                  | reads                                             |
 * |-----------------------|---------------------------------------------------|
 * | `subject`             | the key `subject` of the document                 |
 * | `identity.id`         | nested keys                                       |
 * | `roles.0`             | an array element (a digit key on an object is a key) |
 * | `roles.#`             | the length of an array                            |
 * | `a\.b`                | the key `a.b` (backslash escapes the next character) |
 * | `@this`               | the whole document (also as a component: `@this.id`) |
 *
 * Everything else GJSON offers (wildcards `*` `?`, queries `#(…)`, `#.` maps, pipes `|`, other
 * modifiers `@reverse`…, multipaths `[…]` `{…}`) is refused when the rule loads rather than
 * evaluated differently from Oathkeeper. Lookups use own properties only, so a path such as
 * `constructor` or `__proto__` reads the document, never JavaScript's prototypes.
 */
import { ConfigError } from '../../errors.js'

/** Reads the value at the path; undefined when the document has nothing there. */
export type JsonPath = (doc: unknown) => unknown

type Step = { readonly kind: 'key'; readonly key: string } | { readonly kind: 'length' } | { readonly kind: 'this' }

/** Compiles a path at rule load; throws ConfigError naming `where` for unsupported syntax. */
export function compileJsonPath(path: string, where: string): JsonPath {
  const steps = parse(path, where)
  return (doc) => {
    let cur: unknown = doc
    for (const s of steps) {
      if (s.kind === 'this') continue
      if (s.kind === 'length') {
        if (!Array.isArray(cur)) return undefined
        cur = cur.length
        continue
      }
      cur = child(cur, s.key)
      if (cur === undefined) return undefined
    }
    return cur
  }
}

function child(v: unknown, key: string): unknown {
  if (Array.isArray(v)) {
    if (!/^(0|[1-9][0-9]*)$/.test(key)) return undefined
    const i = Number(key)
    return i < v.length ? v[i] : undefined
  }
  if (typeof v === 'object' && v !== null && Object.hasOwn(v, key)) return (v as Record<string, unknown>)[key]
  return undefined
}

/** Characters with a meaning in GJSON that this subset does not implement, unless escaped. */
const UNSUPPORTED = new Set(['*', '?', '|', '[', ']', '{', '}', '(', ')'])

function parse(path: string, where: string): Step[] {
  if (path === '') throw new ConfigError(`${where}: the path must not be empty`)
  const components: Array<{ text: string; escaped: boolean }> = []
  let text = ''
  let escaped = false
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!
    if (c === '\\') {
      if (i + 1 === path.length) throw new ConfigError(`${where}: "${path}" ends with a lone backslash`)
      text += path[++i]
      escaped = true
    } else if (c === '.') {
      components.push({ text, escaped })
      text = ''
      escaped = false
    } else if (UNSUPPORTED.has(c)) {
      throw unsupported(path, where, `"${c}"`)
    } else text += c
  }
  components.push({ text, escaped })

  return components.map(({ text, escaped }, i): Step => {
    if (text === '') throw new ConfigError(`${where}: "${path}" has an empty path component`)
    if (escaped) return { kind: 'key', key: text }
    if (text === '@this') return { kind: 'this' }
    if (text.startsWith('@')) throw unsupported(path, where, `the modifier "${text}"`)
    if (text === '#') {
      if (i !== components.length - 1) throw unsupported(path, where, '"#." (mapping over an array)')
      return { kind: 'length' }
    }
    if (text.includes('#')) throw unsupported(path, where, '"#"')
    return { kind: 'key', key: text }
  })
}

function unsupported(path: string, where: string, what: string): ConfigError {
  return new ConfigError(
    `${where}: "${path}" uses ${what}, which Gatehouse's GJSON subset does not support (dotted keys, array indexes, "#" for a length, "@this"; escape a literal character with "\\")`,
  )
}
