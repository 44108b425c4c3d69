import { splitScope } from '../../../scope.js'

/**
 * An RFC 7662 introspection response, reduced to the fields Oathkeeper's `oauth2_introspection`
 * reads. Absent or `null` fields take Go's zero values ('' / 0 / []), as Oathkeeper's JSON
 * decoding gives them, so the checks behave the same.
 */
export interface IntrospectionAnswer {
  readonly active: boolean
  readonly sub: string
  readonly username: string
  /** `aud` as a list; a single string is accepted too (Oathkeeper's `Audience` type does so). */
  readonly aud: readonly string[]
  readonly iss: string
  readonly client_id: string
  /** Space-delimited, as received. */
  readonly scope: string
  /** `scope` split once when the answer arrives, so cached answers are not split per request. */
  readonly scopes: readonly string[]
  /** Expiry in seconds since the epoch; 0 when the answer has none. */
  readonly exp: number
  readonly token_use: string
  /** The `ext` object (Hydra's extra claims); {} when absent. */
  readonly ext: Readonly<Record<string, unknown>>
  /** True when a value of `ext` is an object or array, which must be copied per session. */
  readonly extIsDeep: boolean
}

/**
 * Checks the shape of a parsed introspection response. A wrongly typed field makes the whole
 * answer unusable (Oathkeeper's decoder fails the same way), so we fail closed on it.
 * @throws Error naming the offending field.
 */
export function parseAnswer(body: unknown): IntrospectionAnswer {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('the response is not a JSON object')
  const o = body as Record<string, unknown>
  const active = o.active ?? false
  if (typeof active !== 'boolean') throw new Error('"active" is not a boolean')
  const exp = o.exp ?? 0
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new Error('"exp" is not a number')
  const ext = o.ext ?? {}
  if (typeof ext !== 'object' || Array.isArray(ext)) throw new Error('"ext" is not an object')
  const scope = str(o, 'scope')
  return {
    active,
    sub: str(o, 'sub'),
    username: str(o, 'username'),
    aud: audience(o.aud),
    iss: str(o, 'iss'),
    client_id: str(o, 'client_id'),
    scope,
    scopes: splitScope(scope),
    exp,
    token_use: str(o, 'token_use'),
    ext: ext as Record<string, unknown>,
    extIsDeep: Object.values(ext).some((v) => typeof v === 'object' && v !== null),
  }
}

/**
 * The session's Extra, as Oathkeeper builds it: the `ext` object plus `username`, `client_id`
 * and `scope` (always set, '' when absent), plus `aud` (as a list) when the token has one.
 * A new object per request: later pipeline steps may change the session, never the cached answer.
 */
export function extraOf(a: IntrospectionAnswer): Record<string, unknown> {
  const extra: Record<string, unknown> = a.extIsDeep ? structuredClone(a.ext as Record<string, unknown>) : { ...a.ext }
  extra.username = a.username
  extra.client_id = a.client_id
  extra.scope = a.scope
  if (a.aud.length > 0) extra.aud = [...a.aud]
  return extra
}

function str(o: Record<string, unknown>, key: string): string {
  const v = o[key] ?? ''
  if (typeof v !== 'string') throw new Error(`"${key}" is not a string`)
  return v
}

function audience(v: unknown): string[] {
  if (v === undefined || v === null) return []
  if (typeof v === 'string') return [v]
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[]
  throw new Error('"aud" is neither a string nor a list of strings')
}
