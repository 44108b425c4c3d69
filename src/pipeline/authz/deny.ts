import { GatehouseError } from '../../errors.js'
import type { AuthorizerDef } from '../types.js'

/** The `deny` authorizer takes no configuration. */
export type DenyConfig = Record<string, never>

/** `deny`: every request is forbidden (403), whoever it comes from. */
export const deny = {
  id: 'deny',
  schema: { type: 'object', additionalProperties: false, properties: {} },
  create() {
    return () => {
      throw new GatehouseError('GATEHOUSE_ERR_FORBIDDEN', { reason: 'the deny authorizer forbids every request' })
    }
  },
} satisfies AuthorizerDef<DenyConfig>
