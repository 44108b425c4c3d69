import { CliError } from './errors.js'

/**
 * The two ways `--format` picks part of the JSON, as in ory/x cmdx:
 * `jsonpointer=/items/0/client_id` (RFC 6901) and `jsonpath=items.#.client_id` (the GJSON path
 * syntax Hydra's CLI uses, despite the name; the common subset: keys, indexes, `#` and `#.key`).
 */

/** RFC 6901: `''` is the whole document; `~1` is '/', `~0` is '~'. */
export function jsonPointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc
  if (!pointer.startsWith('/')) throw new CliError(`invalid JSON pointer "${pointer}": it must be empty or start with "/"`)
  let v = doc
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (Array.isArray(v) && /^(0|[1-9]\d*)$/.test(key) && Number(key) < v.length) v = v[Number(key)]
    else if (isObject(v) && Object.hasOwn(v, key)) v = v[key]
    else throw new CliError(`failed to apply JSON pointer "${pointer}": "${key}" not found`)
  }
  return v
}

/**
 * A GJSON path. As in GJSON a path that leads nowhere gives null (printed as `null`), not an
 * error: scripts use it to probe optional fields. `\.` escapes a dot inside a key.
 */
export function gjsonPath(doc: unknown, path: string): unknown {
  return walk(doc, splitPath(path))
}

function walk(v: unknown, parts: readonly string[]): unknown {
  if (parts.length === 0) return v === undefined ? null : v
  const [head, ...rest] = parts as [string, ...string[]]
  if (head === '#' && Array.isArray(v)) {
    // `#` alone is the length; `#.key` maps the rest of the path over the items, dropping misses.
    if (rest.length === 0) return v.length
    return v.map((item) => walk(item, rest)).filter((x) => x !== null)
  }
  if (Array.isArray(v) && /^\d+$/.test(head)) return walk(v[Number(head)], rest)
  if (isObject(v) && Object.hasOwn(v, head)) return walk(v[head], rest)
  return null
}

function splitPath(path: string): string[] {
  const parts: string[] = []
  let cur = ''
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!
    if (c === '\\' && i + 1 < path.length) cur += path[++i]
    else if (c === '.') {
      parts.push(cur)
      cur = ''
    } else cur += c
  }
  parts.push(cur)
  return parts
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
