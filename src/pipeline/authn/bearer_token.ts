import type { AuthenticatorDef } from '../types.js'
import { compileSessionCheck, sessionCheckProperties, type SessionCheckConfig } from './session-check.js'
import { compileTokenFrom, tokenFromSchema, type TokenFrom } from './token-from.js'

/** Config of the `bearer_token` authenticator (Oathkeeper's keys). */
export interface BearerTokenConfig extends SessionCheckConfig {
  /** Where the token is read; default `Authorization: Bearer …`. */
  readonly token_from?: TokenFrom | null
  /** Only tokens starting with this prefix are this authenticator's business. Default "". */
  readonly prefix?: string
}

/**
 * `bearer_token`: a request carrying a bearer token is checked by sending it (its Authorization
 * header plus `forward_http_headers`) to `check_session_url`. Without a token, or with one
 * lacking `prefix`, the authenticator is not responsible. `subject_from` defaults to "sub" here
 * (Oathkeeper's code and schema default, although its description says "subject").
 */
export const bearerToken = {
  id: 'bearer_token',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['check_session_url'],
    properties: {
      ...sessionCheckProperties('sub'),
      token_from: { ...tokenFromSchema, type: ['object', 'null'] },
      prefix: { type: 'string', default: '' },
    },
  },
  create(config, deps) {
    const read = compileTokenFrom(config.token_from ?? undefined)
    const prefix = config.prefix ?? ''
    const check = compileSessionCheck(config, 'authorization', 'bearer_token', deps)
    return (req, session) => {
      const token = read(req)
      if (token === '' || !token.startsWith(prefix)) return false
      return check(req, session)
    }
  },
} satisfies AuthenticatorDef<BearerTokenConfig>
