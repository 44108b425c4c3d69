import { readFileSync } from 'node:fs'
import { Ajv, type ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../errors.js'
import { deepFreeze, deepMerge, isPlainObject } from '../util/deep-merge.js'
import { DEFAULTS } from './defaults.js'
import { isDuration } from './duration.js'
import { envOverrideEntries, mergeOverrides, type EnvOverride } from './env.js'
import { configSchema, DURATION_FORMAT, UNSUPPORTED_OATHKEEPER_KEYS, type SchemaNode } from './schema.js'
import type { GatehouseConfig } from './types.js'

/**
 * What one component's configuration is: its schema (validation and env-variable mapping),
 * its defaults, and the keys of the product it mirrors that it deliberately rejects.
 * The gateway and the token server each have one; the loading pipeline is shared.
 */
export interface ConfigSpec<T> {
  readonly schema: SchemaNode
  readonly defaults: T
  /** Key paths (dot-joined) that the mirrored product has but this component refuses, with why. */
  readonly unsupported?: ReadonlySet<string>
  readonly unsupportedMessage?: string
}

/** The gateway's spec (Oathkeeper's layout). */
export const GATEWAY_CONFIG: ConfigSpec<GatehouseConfig> = {
  schema: configSchema,
  defaults: DEFAULTS,
  unsupported: UNSUPPORTED_OATHKEEPER_KEYS,
  unsupportedMessage: 'Oathkeeper key not supported by Gatehouse; remove it',
}

/** One source of raw config: a parsed file, or the object given to buildConfig. */
interface Layer {
  readonly origin: string | undefined
  readonly value: unknown
}

/**
 * Reads each file (YAML or JSON: JSON is YAML, so one parser reads both), deep-merges later files
 * over earlier ones (objects by key, arrays replaced), applies environment overrides (see env.ts)
 * and defaults, validates, and returns the frozen result. Every problem is collected and thrown at
 * once as a ConfigError whose `problems` name the key path (or the file that could not be read).
 * @param env defaults to process.env; pass `{}` for a config that ignores the environment.
 */
export function loadConfig(files: readonly string[], env: NodeJS.ProcessEnv = process.env): GatehouseConfig {
  return loadConfigFor(GATEWAY_CONFIG, files, env)
}

/** The same pipeline as loadConfig, from an in-memory object (tests, quickstart). */
export function buildConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): GatehouseConfig {
  return buildConfigFor(GATEWAY_CONFIG, raw, env)
}

/** loadConfig for any component's spec. */
export function loadConfigFor<T>(spec: ConfigSpec<T>, files: readonly string[], env: NodeJS.ProcessEnv = process.env): T {
  const problems: string[] = []
  const layers: Layer[] = []
  for (const file of files) {
    const value = readConfigFile(file, problems)
    if (value !== undefined) layers.push({ origin: file, value })
  }
  return build(spec, layers, env, problems)
}

/** buildConfig for any component's spec. */
export function buildConfigFor<T>(spec: ConfigSpec<T>, raw: unknown, env: NodeJS.ProcessEnv = process.env): T {
  const problems: string[] = []
  const layers: Layer[] = []
  if (raw === undefined || raw === null) layers.push({ origin: undefined, value: {} })
  else if (isPlainObject(raw)) layers.push({ origin: undefined, value: raw })
  else problems.push(`(root): must be an object of config keys`)
  return build(spec, layers, env, problems)
}

/** Returns the file's top-level mapping, or undefined after recording a problem naming the file. */
function readConfigFile(file: string, problems: string[]): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    problems.push(`${file}: cannot read config file (${code === 'ENOENT' ? 'no such file' : (code ?? String(err))})`)
    return undefined
  }
  let value: unknown
  try {
    value = parseYaml(text)
  } catch (err) {
    // The yaml library's message carries line and column; its code frame is dropped to keep one line.
    const message = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err)
    problems.push(`${file}: not valid YAML or JSON: ${message}`)
    return undefined
  }
  if (value === null || value === undefined) return {} // an empty file (or only comments)
  if (!isPlainObject(value)) {
    problems.push(`${file}: must be a mapping of config keys, not ${Array.isArray(value) ? 'a list' : typeof value}`)
    return undefined
  }
  return value
}

function build<T>(spec: ConfigSpec<T>, layers: readonly Layer[], env: NodeJS.ProcessEnv, problems: string[]): T {
  const overrides = envOverrideEntries(env, spec.schema)
  let merged: unknown = spec.defaults
  for (const layer of layers) merged = deepMerge(merged, copyWithoutNulls(layer.value))
  merged = mergeOverrides(merged, overrides)
  // A fresh copy: ajv's useDefaults writes into it, and DEFAULTS / the caller's object must stay untouched.
  const candidate = copyWithoutNulls(merged)

  const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: true, verbose: true })
  ajv.addFormat(DURATION_FORMAT, { type: 'string', validate: isDuration })
  const validate = ajv.compile(spec.schema)
  if (!validate(candidate)) {
    // An anyOf's branches each report why they did not match; the anyOf error itself says it all.
    // An if/then adds "must match "then" schema" after the errors of the `then` itself, which say more.
    for (const e of validate.errors ?? []) {
      if (!e.schemaPath.includes('/anyOf/') && e.keyword !== 'if') problems.push(describe(spec, e, layers, overrides))
    }
  }
  if (problems.length > 0) throw new ConfigError('invalid configuration', problems)
  return deepFreeze(candidate) as T
}

/**
 * A deep copy of plain data in which null-valued keys are left out: in YAML an empty key
 * (`mutators:` with every entry commented out) means "nothing here", not "replace with null".
 * Nulls inside arrays are kept so validation reports them.
 */
function copyWithoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyWithoutNulls)
  if (!isPlainObject(v)) return v
  const proto: unknown = Object.getPrototypeOf(v)
  if (proto !== Object.prototype && proto !== null) return v // a class instance: validation rejects or keeps it as is
  const out: Record<string, unknown> = {}
  for (const [k, child] of Object.entries(v)) {
    if (child !== null && k !== '__proto__') out[k] = copyWithoutNulls(child)
  }
  return out
}

/** One human line per ajv error: `key.path: what is wrong (got …) [where it was set]`. */
function describe<T>(spec: ConfigSpec<T>, e: ErrorObject, layers: readonly Layer[], overrides: readonly EnvOverride[]): string {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
  let message = `${e.message ?? 'is invalid'}${got(e.data)}`
  if (e.keyword === 'additionalProperties') {
    const key = String((e.params as { additionalProperty: string }).additionalProperty)
    path.push(key)
    const parent = e.parentSchema as { properties?: object; title?: string }
    const known = Object.keys(parent.properties ?? {})
    message = spec.unsupported?.has(path.join('.')) === true
      ? (spec.unsupportedMessage ?? 'key not supported by Gatehouse; remove it')
      : `unknown ${parent.title ?? 'key'} (${known.length > 0 ? `known: ${known.join(', ')}` : 'none are allowed here'})`
  } else if (e.keyword === 'enum') {
    const allowed = (e.params as { allowedValues: unknown[] }).allowedValues
    message = `must be one of ${allowed.join(', ')}${got(e.data)}`
  } else if (e.keyword === 'anyOf') {
    const alternatives = ((e.parentSchema as SchemaNode).anyOf ?? []).map(alternative)
    message = `must be ${alternatives.join(' or ')}${got(e.data)}`
  } else if ((e.parentSchema as { format?: string } | undefined)?.format === DURATION_FORMAT) {
    // Also for `type` errors: `read: 5` is a number in YAML, and "must be string" would not say why.
    message = `must be a duration such as "300ms", "5s", "1m30s" or "1.5h"${got(e.data)}`
  } else if (e.keyword === 'minLength') {
    const limit = (e.params as { limit: number }).limit
    message = limit <= 1 ? 'must not be empty' : `must be at least ${limit} characters long`
  }
  const where = originOf(path, layers, overrides)
  return `${path.length > 0 ? path.join('.') : '(root)'}: ${message}${where === undefined ? '' : ` [${where}]`}`
}

/** One anyOf alternative in words: `an integer from 1 to 1024`, `"auto"`. */
function alternative(n: SchemaNode): string {
  if (n.enum !== undefined) return n.enum.map((v) => JSON.stringify(v)).join(' or ')
  if (n.type === 'integer' && n.minimum !== undefined && n.maximum !== undefined) return `an integer from ${n.minimum} to ${n.maximum}`
  return `a value of type ${n.type ?? 'any'}`
}

/** A short rendering of a bad scalar value; objects and long strings are not repeated back. */
function got(data: unknown): string {
  if (typeof data === 'string') return data.length <= 40 ? ` (got ${JSON.stringify(data)})` : ''
  if (typeof data === 'number' || typeof data === 'boolean') return ` (got ${String(data)})`
  return ''
}

/** Which env variable or file set the value at `path` last (env wins over files, later files over earlier). */
function originOf(path: readonly string[], layers: readonly Layer[], overrides: readonly EnvOverride[]): string | undefined {
  for (let i = overrides.length - 1; i >= 0; i--) {
    const o = overrides[i]!
    if (o.path.length <= path.length && o.path.every((k, j) => k === path[j])) return `from $${o.name}`
  }
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!
    if (layer.origin !== undefined && has(layer.value, path)) return `in ${layer.origin}`
  }
  return undefined
}

function has(v: unknown, path: readonly string[]): boolean {
  let cur = v
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, k)) return false
    cur = (cur as Record<string, unknown>)[k]
  }
  return true
}
