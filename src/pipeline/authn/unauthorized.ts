import { GatehouseError } from '../../errors.js'
import type { AuthenticatorDef } from '../types.js'

/** The `unauthorized` authenticator takes no configuration. */
export type UnauthorizedConfig = Record<string, never>

/** `unauthorized`: rejects every request with 401, e.g. to close a route temporarily. */
export const unauthorized = {
  id: 'unauthorized',
  schema: { type: 'object', additionalProperties: false, properties: {} },
  create() {
    return () => {
      throw new GatehouseError('GATEHOUSE_ERR_UNAUTHORIZED', {
        reason: 'the unauthorized authenticator rejects every request',
      })
    }
  },
} satisfies AuthenticatorDef<UnauthorizedConfig>
