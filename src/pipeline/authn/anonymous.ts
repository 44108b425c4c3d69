import type { AuthenticatorDef } from '../types.js'

/** Config of the `anonymous` authenticator. */
export interface AnonymousConfig {
  /** The Subject given to requests without credentials. Default "anonymous". */
  readonly subject?: string
}

/**
 * `anonymous`: authenticates requests that carry no Authorization header, with a fixed
 * subject. A request that does carry one is not this authenticator's business (Oathkeeper:
 * "not responsible"), so a later authenticator can check the credentials, or the request
 * ends with 401 when none is responsible.
 */
export const anonymous = {
  id: 'anonymous',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: { subject: { type: 'string', default: 'anonymous' } },
  },
  create(config) {
    // Oathkeeper coalesces an empty subject to "anonymous" too.
    const subject = config.subject || 'anonymous'
    return (req, session) => {
      // An empty header counts as absent, as Go's `len(r.Header.Get("Authorization")) != 0`.
      const authorization = req.headers.authorization
      if (authorization !== undefined && authorization !== '') return false
      session.Subject = subject
      return true
    }
  },
} satisfies AuthenticatorDef<AnonymousConfig>
