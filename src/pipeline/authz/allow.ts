import type { AuthorizerDef } from '../types.js'

/** The `allow` authorizer takes no configuration. */
export type AllowConfig = Record<string, never>

/** `allow`: every authenticated request may pass. */
export const allow = {
  id: 'allow',
  schema: { type: 'object', additionalProperties: false, properties: {} },
  create() {
    return () => {}
  },
} satisfies AuthorizerDef<AllowConfig>
