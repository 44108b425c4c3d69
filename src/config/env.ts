import { deepMerge } from '../util/deep-merge.js'
import { configSchema, type SchemaNode } from './schema.js'

/** One environment variable that maps to a config key. */
export interface EnvOverride {
  /** The variable's name, e.g. `SERVE_PROXY_PORT`. */
  readonly name: string
  /** The key path it sets, e.g. `['serve', 'proxy', 'port']`. */
  readonly path: readonly string[]
  /** The value, coerced to the schema's type where it could be (else left a string for ajv to report). */
  readonly value: unknown
}

/**
 * Oathkeeper-style overrides: the variable name is the upper-cased key path joined with '_'
 * (SERVE_PROXY_PORT → serve.proxy.port). Keys contain '_' themselves (access_rules,
 * trust_forwarded_headers), so the name is resolved by walking the schema and trying every split,
 * backtracking when a split leads nowhere. Variables that resolve to no key are ignored: the
 * environment holds many unrelated ones.
 */
export function envOverrides(env: NodeJS.ProcessEnv, schema: SchemaNode = configSchema): Record<string, unknown> {
  return mergeOverrides({}, envOverrideEntries(env, schema)) as Record<string, unknown>
}

/** Deep-merges the overrides, in order, over `base` (arrays replaced, as for config files). */
export function mergeOverrides(base: unknown, entries: readonly EnvOverride[]): unknown {
  let out = base
  for (const { path, value } of entries) out = deepMerge(out, nest(path, value))
  return out
}

/**
 * The overrides one by one (load.ts uses the names to say which variable caused a problem).
 * Sorted by path length so that `AUTHENTICATORS_JWT='{…}'` is applied before the more specific
 * `AUTHENTICATORS_JWT_ENABLED=true`, whatever order the environment lists them in.
 */
export function envOverrideEntries(env: NodeJS.ProcessEnv, schema: SchemaNode = configSchema): EnvOverride[] {
  const entries: EnvOverride[] = []
  for (const [name, raw] of Object.entries(env)) {
    // Config variables are upper case; skipping others avoids mapping e.g. `npm_config_*`.
    if (raw === undefined || !/^[A-Z][A-Z0-9_]*$/.test(name)) continue
    const found = resolve(schema, name.toLowerCase().split('_'), 0)
    if (found === undefined) continue
    const value = coerce(raw, found.node)
    if (value !== undefined) entries.push({ name, path: found.path, value })
  }
  return entries.sort((a, b) => a.path.length - b.path.length)
}

interface Resolved {
  readonly path: string[]
  readonly node: SchemaNode
}

/** Maps `parts[i..]` to a key path under `node`; the shortest key that leads to a full match wins. */
function resolve(node: SchemaNode, parts: readonly string[], i: number): Resolved | undefined {
  if (i === parts.length) return { path: [], node }
  const { properties, additionalProperties } = node
  for (let j = i + 1; j <= parts.length; j++) {
    const key = parts.slice(i, j).join('_')
    if (key === '') continue
    let child: SchemaNode | undefined
    if (properties !== undefined) child = Object.hasOwn(properties, key) ? properties[key] : undefined
    // A map such as `authenticators`: any key (a handler id, which may contain '_') is allowed.
    else if (typeof additionalProperties === 'object') child = additionalProperties
    if (child === undefined) continue
    const rest = resolve(child, parts, j)
    if (rest !== undefined) return { path: [key, ...rest.path], node: rest.node }
  }
  // An open object (a handler's `config`): the rest of the name is one key, e.g.
  // AUTHENTICATORS_OAUTH2_INTROSPECTION_CONFIG_INTROSPECTION_URL → config.introspection_url.
  // Nested handler config is set with a JSON value on the enclosing key.
  if (node.type === 'object' && properties === undefined && additionalProperties === undefined) {
    return { path: [parts.slice(i).join('_')], node: {} }
  }
  return undefined
}

// strconv.ParseBool's spellings, which Oathkeeper (Go) accepts.
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True'])
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False'])

/**
 * Converts the string to the schema's type. A value that does not convert is returned as the
 * string, so validation reports it with the key path (and the variable's name) rather than the
 * override vanishing. Returns undefined for "not an override" (a non-JSON value for an object).
 */
function coerce(raw: string, node: SchemaNode): unknown {
  const s = raw.trim()
  // `SERVE_PROXY_WORKERS=4` or `=auto`: a number when it reads as one and an alternative takes numbers.
  if (node.anyOf !== undefined) {
    const numeric = node.anyOf.some((n) => n.type === 'integer' || n.type === 'number')
    return numeric && /^[+-]?\d+(\.\d+)?$/.test(s) ? Number(s) : raw
  }
  switch (node.type) {
    case 'integer':
    case 'number':
      return /^[+-]?\d+(\.\d+)?$/.test(s) ? Number(s) : raw
    case 'boolean':
      return TRUE.has(s) ? true : FALSE.has(s) ? false : raw
    case 'array':
      if (s.startsWith('[')) return parseJson(raw)
      return s
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '')
    case 'object':
      // Only a JSON object can replace an object; anything else is some unrelated variable.
      return s.startsWith('{') ? parseJson(raw) : undefined
    case 'string':
      return raw
    default:
      // Untyped (inside a handler's free-form config): JSON when it looks like it, else a string.
      return s.startsWith('{') || s.startsWith('[') ? parseJson(raw) : raw
  }
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown
  } catch {
    return raw
  }
}

function nest(path: readonly string[], value: unknown): unknown {
  return path.reduceRight<unknown>((acc, key) => ({ [key]: acc }), value)
}
