import { ConfigError } from '../../errors.js'
import type { ErrorHandlerDef } from '../types.js'

/** Config of the `www_authenticate` error handler (Oathkeeper's keys; `when` is compiled separately). */
export interface WwwAuthenticateErrorConfig {
  /** Shown by browsers in their login prompt. Default "Please authenticate." */
  readonly realm?: string
}

/**
 * `www_authenticate`: answers 401 with `WWW-Authenticate: Basic realm="…"` so browsers show
 * their Basic login prompt; usually limited with `when` to `unauthorized` errors. Oathkeeper
 * writes the realm unquoted (`Basic realm=Please authenticate.`), which RFC 7617 does not allow
 * and browsers cut at the first space; Gatehouse quotes it.
 */
export const wwwAuthenticate = {
  id: 'www_authenticate',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: { realm: { type: 'string', default: 'Please authenticate.' } },
  },
  create(config) {
    // An empty realm falls back, as in Oathkeeper.
    const realm = config.realm || 'Please authenticate.'
    if (/[\x00-\x1f\x7f]/.test(realm)) throw new ConfigError('realm must not contain control characters')
    const headers = Object.freeze({
      'www-authenticate': `Basic realm="${realm.replace(/["\\]/g, (c) => `\\${c}`)}"`,
      'content-type': 'text/plain; charset=utf-8',
      'x-content-type-options': 'nosniff',
    })
    // Go's http.Error body: the status text and a newline.
    return () => ({ status: 401, headers, body: 'Unauthorized\n' })
  },
} satisfies ErrorHandlerDef<WwwAuthenticateErrorConfig>
