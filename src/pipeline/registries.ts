import type { Registry } from './registry.js'
import type { AuthenticatorDef, AuthorizerDef, ErrorHandlerDef, HandlerKind, MutatorDef } from './types.js'
import { authenticators } from './authn/index.js'
import { authorizers } from './authz/index.js'
import { mutators } from './mutate/index.js'
import { errorHandlers } from './errors/index.js'

/** The four handler registries, built fresh per gateway (no shared mutable state). */
export interface Registries {
  readonly authenticators: Registry<AuthenticatorDef>
  readonly authorizers: Registry<AuthorizerDef>
  readonly mutators: Registry<MutatorDef>
  readonly errors: Registry<ErrorHandlerDef>
}

export function createRegistries(): Registries {
  return {
    authenticators: authenticators(),
    authorizers: authorizers(),
    mutators: mutators(),
    errors: errorHandlers(),
  }
}

/** Singular names used in messages ("authenticator", "error handler"). */
export const KIND_NAMES: Readonly<Record<HandlerKind, string>> = {
  authenticators: 'authenticator',
  authorizers: 'authorizer',
  mutators: 'mutator',
  errors: 'error handler',
}
