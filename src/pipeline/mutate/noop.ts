import type { MutatorDef } from '../types.js'

/** The `noop` mutator takes no configuration. */
export type NoopMutatorConfig = Record<string, never>

/** `noop`: forwards the request as it came (no headers added). */
export const noop = {
  id: 'noop',
  schema: { type: 'object', additionalProperties: false, properties: {} },
  create() {
    return () => {}
  },
} satisfies MutatorDef<NoopMutatorConfig>
