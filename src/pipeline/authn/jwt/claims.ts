/**
 * The checks the `jwt` authenticator runs on the claims of a token whose signature and times
 * are valid: audience, issuer, scope. Oathkeeper's order and semantics; see `jwt.ts` for the
 * status they map to.
 */
import { splitScope, type ScopeStrategy } from '../../../scope.js'

/** Oathkeeper reads the granted scope from the first of these claims that is present. */
const SCOPE_CLAIMS = ['scp', 'scope', 'scopes'] as const

/**
 * Moves the granted scope into `scp` as a list, in place, as Oathkeeper does, so templates and
 * authorizers find it in one place whatever the issuer called it: `scope: "a b"` → `scp: ["a", "b"]`.
 * The claim it came from is removed; without any, `scp` is `[]`. Non-string list entries are
 * dropped (Oathkeeper turns them into "", which no required scope should match anyway).
 */
export function normaliseScope(claims: Record<string, unknown>): string[] {
  const key = SCOPE_CLAIMS.find((k) => Object.hasOwn(claims, k))
  const value = key === undefined ? undefined : claims[key]
  const scp = Array.isArray(value)
    ? value.filter((s): s is string => typeof s === 'string')
    : typeof value === 'string'
      ? splitScope(value)
      : []
  if (key !== undefined) delete claims[key]
  claims.scp = scp
  return scp
}

/** What a token must carry, from the rule's config. */
export interface ClaimRequirements {
  /** Every one of these must be in `aud`. */
  readonly audience: readonly string[]
  /** When not empty, `iss` must be one of these. */
  readonly issuers: readonly string[]
  /** Every one of these must be granted, by `strategy`. */
  readonly scope: readonly string[]
  readonly strategy: ScopeStrategy
}

/** The first unmet requirement, as a reason for the log and verbose error handlers; undefined when all are met. */
export function unmetRequirement(claims: Readonly<Record<string, unknown>>, scp: readonly string[], req: ClaimRequirements): string | undefined {
  if (req.audience.length > 0) {
    const aud = audienceOf(claims.aud)
    for (const wanted of req.audience) {
      if (!aud.includes(wanted)) return `Token audience ${JSON.stringify(aud)} is not intended for target audience ${wanted}.`
    }
  }
  if (req.issuers.length > 0 && (typeof claims.iss !== 'string' || !req.issuers.includes(claims.iss))) {
    return `Token issuer ${JSON.stringify(claims.iss ?? '')} does not match any trusted issuer.`
  }
  for (const wanted of req.scope) {
    if (!req.strategy(scp, wanted)) return `JSON Web Token is missing required scope "${wanted}".`
  }
  return undefined
}

/** `aud` is a string or a list of strings (RFC 7519 §4.1.3). */
function audienceOf(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud]
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string')
  return []
}
