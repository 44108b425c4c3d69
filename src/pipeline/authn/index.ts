import { Registry } from '../registry.js'
import type { AuthenticatorDef } from '../types.js'
import { anonymous } from './anonymous.js'
import { noop } from './noop.js'
import { unauthorized } from './unauthorized.js'

const DEFS: readonly AuthenticatorDef[] = Object.freeze([noop, anonymous, unauthorized])

/** A new registry of the built-in authenticators. */
export function authenticators(): Registry<AuthenticatorDef> {
  return new Registry('authenticator', DEFS)
}
