import { createHash } from 'node:crypto'
import type { ClientRecord } from '../../store/types.js'
import { fositeInvalidRequest } from './errors.js'
import type { IssueSettings } from './settings.js'

/**
 * The `sub` a client sees (OpenID Connect Core §8), as Hydra computes it: the login subject for
 * public clients; for `subject_type: pairwise`, login accept's `force_subject_identifier` when
 * given, else hex SHA-256(sector || subject || salt), where the sector is the client's
 * `sector_identifier_uri` (the whole URI, as Hydra takes it) or the host of its only redirect URI.
 * @throws OAuthError invalid_request when the client cannot have a pairwise subject.
 */
export function subjectFor(client: ClientRecord, subject: string, forced: string | undefined, settings: IssueSettings): string {
  if (client.data.subject_type !== 'pairwise') return subject
  if (!settings.subjectTypes.includes('pairwise')) {
    throw fositeInvalidRequest(`Subject Identifier Algorithm 'pairwise' was requested by OAuth 2.0 Client '${client.client_id}' but is not configured.`)
  }
  if (forced !== undefined && forced !== '') return forced
  const sector = typeof client.data.sector_identifier_uri === 'string' ? client.data.sector_identifier_uri : ''
  const redirects = Array.isArray(client.data.redirect_uris) ? client.data.redirect_uris.map(String) : []
  let id: string
  if (sector !== '') {
    id = sector
  } else if (redirects.length > 1) {
    throw fositeInvalidRequest(
      `OAuth 2.0 Client ${client.client_id} has multiple redirect_uris but no sector_identifier_uri was set which is not allowed when performing using subject type pairwise. Please reconfigure the OAuth 2.0 client properly.`,
    )
  } else if (redirects.length === 0) {
    throw fositeInvalidRequest(
      `OAuth 2.0 Client ${client.client_id} neither specifies a sector_identifier_uri nor a redirect_uri which is not allowed when performing using subject type pairwise. Please reconfigure the OAuth 2.0 client properly.`,
    )
  } else {
    id = goHost(redirects[0]!)
  }
  return createHash('sha256').update(id).update(subject).update(settings.pairwiseSalt).digest('hex')
}

/**
 * The host (and port, when the URI names one) as Go's url.Parse gives it: unlike WHATWG URL,
 * Go keeps an explicit default port ("example.com:443"), so the port is read from the text.
 */
function goHost(uri: string): string {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^/?#]*)/.exec(uri)
  return m?.[1] ?? ''
}
