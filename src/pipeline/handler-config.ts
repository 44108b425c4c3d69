import { Ajv, type ValidateFunction } from 'ajv'
import type { GatehouseConfig, HandlerSettings } from '../config/types.js'
import { ConfigError } from '../errors.js'
import { deepMerge, isPlainObject } from '../util/deep-merge.js'
import type { HandlerRef } from '../rules/types.js'
import { KIND_NAMES, type Registries } from './registries.js'
import type { HandlerDef, HandlerKind } from './types.js'
import { whenSchema } from './errors/when.js'

/** A handler's merged, validated config plus the definition that will create it. */
export interface ResolvedHandler<D> {
  readonly def: D
  readonly config: Record<string, unknown>
  /** Error handlers only: the `when` list, taken out before schema validation. */
  readonly when: unknown
}

/**
 * Resolves a handler reference of a rule: checks the handler exists and is enabled, deep-merges
 * the rule's config over the global one and validates the result against the handler's schema.
 * Validators are compiled once per handler id and reused for every rule.
 */
export class HandlerConfigs {
  readonly #ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true })
  readonly #validators = new Map<string, ValidateFunction>()
  readonly #whenValidator: ValidateFunction

  constructor(
    private readonly config: GatehouseConfig,
    readonly registries: Registries,
  ) {
    this.#whenValidator = this.#ajv.compile(whenSchema)
  }

  resolve<K extends HandlerKind>(kind: K, ref: HandlerRef, where: string): ResolvedHandler<RegistryDef<K>> {
    const registry = this.registries[kind]
    if (!registry.has(ref.handler)) {
      throw new ConfigError(
        `${where}: unknown ${KIND_NAMES[kind]} "${ref.handler}" (known: ${registry.ids().join(', ')})`,
      )
    }
    const settings = this.settings(kind)[ref.handler]
    if (settings === undefined || !settings.enabled) {
      throw new ConfigError(
        `${where}: ${KIND_NAMES[kind]} "${ref.handler}" is disabled; enable it in the config under ${kind === 'errors' ? 'errors.handlers' : kind}.${ref.handler}.enabled`,
      )
    }
    const def = registry.get(ref.handler) as RegistryDef<K> & HandlerDef<unknown, unknown>
    // structuredClone: ajv's useDefaults writes into the object, which must not touch the frozen config.
    const merged = structuredClone(deepMerge(settings.config ?? {}, ref.config ?? {}))
    if (!isPlainObject(merged)) throw new ConfigError(`${where}: config of "${ref.handler}" must be an object`)
    let when: unknown
    if (kind === 'errors' && 'when' in merged) {
      when = merged.when
      delete merged.when
      if (!this.#whenValidator(when)) throw schemaError(where, `${ref.handler}.when`, this.#whenValidator, undefined)
    }
    const validate = this.#validator(kind, def)
    if (!validate(merged)) throw schemaError(where, ref.handler, validate, `${kind === 'errors' ? 'errors.handlers' : kind}.${ref.handler}.config`)
    return { def, config: merged, when }
  }

  settings(kind: HandlerKind): Readonly<Record<string, HandlerSettings>> {
    return kind === 'errors' ? this.config.errors.handlers : this.config[kind]
  }

  #validator(kind: HandlerKind, def: HandlerDef<unknown, unknown>): ValidateFunction {
    const key = `${kind}/${def.id}`
    let v = this.#validators.get(key)
    if (v === undefined) {
      v = this.#ajv.compile(def.schema)
      this.#validators.set(key, v)
    }
    return v
  }
}

type RegistryDef<K extends HandlerKind> = Registries[K] extends { get(id: string): infer D } ? D : never

/** @param globalPath where the gateway config holds this handler's global config: named when a required key is missing. */
function schemaError(where: string, handler: string, validate: ValidateFunction, globalPath: string | undefined): ConfigError {
  const problems = (validate.errors ?? []).map((e) => {
    const path = e.instancePath.replace(/^\//, '').replaceAll('/', '.')
    const extra =
      e.keyword === 'additionalProperties'
        ? ` "${String((e.params as { additionalProperty?: string }).additionalProperty)}"`
        : e.keyword === 'enum'
          ? ` (${(e.params as { allowedValues?: unknown[] }).allowedValues?.join(', ')})`
          : ''
    // A required key may come from the rule or from the gateway config: say both, since a rule
    // checked without the gateway's config (`rules validate` without -c) lacks the global part.
    const hint =
      e.keyword === 'required' && globalPath !== undefined
        ? ` (set it in the rule's config or in the gateway config under ${globalPath}${path ? '.' + path : ''})`
        : ''
    return `${where}: ${handler} config${path ? '.' + path : ''}: ${e.message ?? 'is invalid'}${extra}${hint}`
  })
  return new ConfigError(problems[0] ?? `${where}: invalid ${handler} config`, problems)
}
