import { Registry } from '../registry.js'
import type { AuthenticatorDef } from '../types.js'
import { anonymous } from './anonymous.js'
import { jwt } from './jwt.js'
import { noop } from './noop.js'
import { oauth2Introspection } from './oauth2_introspection.js'
import { unauthorized } from './unauthorized.js'
import { bearerToken } from './bearer_token.js'
import { cookieSession } from './cookie_session.js'
import { oauth2ClientCredentials } from './oauth2_client_credentials.js'

const DEFS: readonly AuthenticatorDef[] = Object.freeze([noop, anonymous, unauthorized, oauth2Introspection, jwt, bearerToken, cookieSession, oauth2ClientCredentials])

/** A new registry of the built-in authenticators. */
export function authenticators(): Registry<AuthenticatorDef> {
  return new Registry('authenticator', DEFS)
}
