import type { MutatorDef } from '../types.js'

/** The `noop` mutator takes no configuration. */
export type NoopMutatorConfig = Record<string, never>

/**
 * `noop`: forwards the request as it came (no headers added). In the decision API the answer
 * carries the request's headers, as Oathkeeper's (see AuthenticationSession.withRequestHeaders).
 */
export const noop = {
  id: 'noop',
  schema: { type: 'object', additionalProperties: false, properties: {} },
  create() {
    return (_req, session) => {
      session.withRequestHeaders = true
    }
  },
} satisfies MutatorDef<NoopMutatorConfig>
