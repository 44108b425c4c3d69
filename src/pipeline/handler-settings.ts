import { buildConfigFor, GATEWAY_CONFIG, loadConfigFor, type ConfigSpec } from '../config/load.js'
import type { SchemaNode } from '../config/schema.js'
import type { GatehouseConfig } from '../config/types.js'
import { whenSchema } from './errors/when.js'
import { createRegistries, KIND_NAMES, type Registries } from './registries.js'
import type { HandlerKind } from './types.js'

/**
 * The gateway's config spec with the handler sections closed: `authenticators`, `authorizers`,
 * `mutators` and `errors.handlers` accept only the registered ids, and each handler's global
 * `config` is checked against the handler's own schema (see globalConfigSchema). The config loader then reports a
 * typo (`authenticators.anonymus`, `…jwt.config.jwks_urlz`) at start-up, naming the file and the
 * key path, together with every other problem of the file.
 *
 * Built here, not in config/: the config layer knows no handlers.
 */
export function gatewayConfigSpec(registries: Registries): ConfigSpec<GatehouseConfig> {
  const base = GATEWAY_CONFIG.schema
  const props = base.properties ?? {}
  const errors = props.errors!
  return {
    ...GATEWAY_CONFIG,
    schema: {
      ...base,
      properties: {
        ...props,
        authenticators: handlerSection(registries, 'authenticators'),
        authorizers: handlerSection(registries, 'authorizers'),
        mutators: handlerSection(registries, 'mutators'),
        errors: { ...errors, properties: { ...errors.properties, handlers: handlerSection(registries, 'errors') } },
      },
    },
  }
}

/** `authenticators: { <id>: { enabled, config } }` with one closed entry per registered id. */
function handlerSection(registries: Registries, kind: HandlerKind): SchemaNode {
  const registry = registries[kind]
  const entries = Object.fromEntries(
    registry.ids().map((id) => {
      const config = globalConfigSchema(registry.get(id).schema)
      // Error handlers' `when` is kept apart from their schema (see handler-config.ts); a list, so never merged with a rule's.
      if (kind === 'errors') config.properties = { ...(config.properties as object | undefined), when: whenSchema }
      return [id, handlerEntry(config)]
    }),
  )
  // `title` names what the keys are, so an unknown one reads "unknown authenticator id (known: …)".
  return { type: 'object', title: `${KIND_NAMES[kind]} id`, properties: entries, additionalProperties: false } as SchemaNode
}

/**
 * One handler's entry. Its config is checked even while the handler is disabled (Oathkeeper checks
 * only enabled ones): a typo is a typo, and the entry is there to be enabled one day. The typed
 * schema also lets env variables such as AUTHENTICATORS_JWT_CONFIG_JWKS_URLS=a,b become lists.
 */
function handlerEntry(config: Record<string, unknown>): SchemaNode {
  return {
    type: 'object',
    properties: {
      enabled: { type: 'boolean', default: false },
      config: { ...config, default: {} },
    },
    additionalProperties: false,
  } as SchemaNode
}

/**
 * A handler's schema as it applies to the global config alone: what is wrong whatever the rules
 * say (unknown keys, wrong types, bad values) stays, what a rule may still supply goes. A rule's
 * config is deep-merged over the global one, so `required` is dropped in every object that merges
 * (Oathkeeper requires e.g. jwt's `jwks_urls` globally; Gatehouse lets each rule set it and checks
 * the merged config per rule). Array items are replaced, not merged, so they keep `required`.
 * Defaults are dropped too: the loader fills defaults in, and the handler's belong to the merged config.
 */
export function globalConfigSchema(schema: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return strip(schema, true) as Record<string, unknown>
}

/** Subschemas whose `required` is kept: a condition (`if`, `not`) or values that replace rather than merge. */
const WHOLE = new Set(['items', 'additionalItems', 'contains', 'if', 'not'])

function strip(node: unknown, merges: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => strip(n, merges))
  if (typeof node !== 'object' || node === null) return node
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(node)) {
    if (key === 'default') continue
    if (merges && key === 'required' && Array.isArray(value)) continue
    if (key === 'properties' || key === 'patternProperties') {
      out[key] = Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, strip(v, merges)]))
    } else out[key] = strip(value, merges && !WHOLE.has(key))
  }
  return out
}

/** loadConfig with the handler sections checked (what `serve`, `quickstart` and `rules validate -c` use). */
export function loadGatewayConfig(files: readonly string[], env: NodeJS.ProcessEnv = process.env): GatehouseConfig {
  return loadConfigFor(gatewayConfigSpec(createRegistries()), files, env)
}

/** buildConfig with the handler sections checked. */
export function buildGatewayConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): GatehouseConfig {
  return buildConfigFor(gatewayConfigSpec(createRegistries()), raw, env)
}
