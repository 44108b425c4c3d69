import type { AuthenticatorDef } from '../types.js'

/** The `noop` authenticator takes no configuration. */
export type NoopAuthenticatorConfig = Record<string, never>

/**
 * `noop`: every request counts as authenticated and the session stays empty (Subject ''),
 * as Oathkeeper's noop does. Meant for public routes whose upstream does its own checks.
 */
export const noop = {
  id: 'noop',
  schema: { type: 'object', additionalProperties: false, properties: {} },
  create() {
    return () => true
  },
} satisfies AuthenticatorDef<NoopAuthenticatorConfig>
