import { compactVerify, decodeProtectedHeader } from 'jose'
import type { TokenServerContext } from '../../context.js'
import { ID_TOKEN_SET, type KeyManager } from '../../keys.js'
import type { OAuthError } from '../../oauth-error.js'
import type { ClientRecord } from '../../store/types.js'
import { subjectFor } from '../issue/subject.js'
import { fositeError } from './errors.js'

/**
 * The claims of an `id_token_hint` (OpenID Connect Core §3.1.2.1): it must be an ID token this
 * server signed; an expired one is fine (Hydra's getIDTokenHintClaims), since the hint names a
 * past login. Anything else is invalid_request.
 */
export async function idTokenHintClaims(keys: KeyManager, hint: string): Promise<Record<string, unknown>> {
  const claims = await verifyIdTokenHint(keys, hint, (why) =>
    fositeError('invalid_request', `Failed to validate OpenID Connect request as decoding id token from id_token_hint parameter failed: ${why}.`),
  )
  const sub = claims.sub
  if (typeof sub !== 'string' || sub === '') {
    throw fositeError('invalid_request', 'Failed to validate OpenID Connect request because provided id token from id_token_hint does not have a subject.')
  }
  return claims
}

/**
 * The claims of a JWT signed by a key of the ID token set (signature only: its expiry is not
 * checked, and what its claims must hold is the caller's to say, as the authorization endpoint
 * and the logout endpoint check different things).
 * @param fail turns the reason (lower case, no final period) into the error to throw.
 */
export async function verifyIdTokenHint(keys: KeyManager, hint: string, fail: (why: string) => OAuthError): Promise<Record<string, unknown>> {
  // go-jose's words, which Hydra passes on as the hint.
  if (hint.split('.').length !== 3) throw fail('compact JWS format must have three parts')
  let kid: string | undefined
  try {
    kid = decodeProtectedHeader(hint).kid
  } catch {
    throw fail('it is not a JWT')
  }
  const key = kid === undefined ? undefined : await keys.verificationKey(ID_TOKEN_SET, kid)
  if (key === undefined) throw fail('it is not signed by a key of this server')
  let payload: Uint8Array
  try {
    ;({ payload } = await compactVerify(hint, key.publicKey))
  } catch {
    throw fail('its signature is not valid')
  }
  let claims: unknown
  try {
    claims = JSON.parse(Buffer.from(payload).toString('utf8'))
  } catch {
    throw fail('its payload is not JSON')
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw fail('its payload is not a JSON object')
  return claims as Record<string, unknown>
}

/**
 * Whether an id_token_hint's `sub` names `subject` as this client sees it (Hydra's
 * matchesValueFromSession): the login subject itself, its pairwise subject for the client, or a
 * subject forced for this user and client by login accept (`force_subject_identifier`, now or at
 * an earlier login: the grants issued to the client keep the subject they published).
 */
export async function hintMatchesSubject(
  ctx: Pick<TokenServerContext, 'store' | 'issue'>,
  client: ClientRecord,
  hintSubject: unknown,
  subject: string,
  forced: string | undefined,
  now: number,
): Promise<boolean> {
  if (typeof hintSubject !== 'string' || hintSubject === '') return false
  if (hintSubject === subject || (forced !== undefined && forced !== '' && hintSubject === forced)) return true
  if (client.data.subject_type !== 'pairwise') return false
  try {
    if (hintSubject === subjectFor(client, subject, undefined, ctx.issue)) return true
  } catch {
    // A client that cannot have a pairwise subject: nothing issued to it could carry one.
  }
  const grants = await ctx.store.oidc.findBy('grant', { subject, client_id: client.client_id }, now)
  return grants.some((g) => g.payload.id_subject === hintSubject)
}
