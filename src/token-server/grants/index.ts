import { unsupportedGrantType } from '../oauth-error.js'
import { authorizationCode } from './authorization-code.js'
import { clientCredentials } from './client-credentials.js'
import { refreshToken } from './refresh-token.js'
import type { Grant } from './types.js'

/** The grant types one token server performs, by `grant_type`. */
export interface GrantRegistry {
  /** In registration order (discovery's `grant_types_supported`). */
  readonly types: readonly string[]
  /** @throws OAuthError unsupported_grant_type for a grant type not registered. */
  get(grantType: string): Grant
}

export function createGrantRegistry(grants: readonly Grant[]): GrantRegistry {
  const byType = new Map<string, Grant>()
  for (const g of grants) {
    if (byType.has(g.grantType)) throw new Error(`grant type "${g.grantType}" is registered twice`)
    for (const p of g.repeatable) {
      if (!g.parameters.has(p)) throw new Error(`grant type "${g.grantType}": repeatable parameter "${p}" is not one of its parameters`)
    }
    byType.set(g.grantType, g)
  }
  return {
    types: [...byType.keys()],
    get(grantType) {
      const g = byType.get(grantType)
      if (g === undefined) throw unsupportedGrantType(`The authorization grant type '${grantType}' is not supported by the authorization server.`)
      return g
    },
  }
}

/** Every grant this version performs; server.ts wires it into the token endpoint and discovery. */
export const GRANTS: GrantRegistry = createGrantRegistry([authorizationCode, clientCredentials, refreshToken])
