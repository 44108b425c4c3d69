import { CliError } from './errors.js'
import { goTime, type Row } from './output.js'

/** A token endpoint answer (RFC 6749 §5.1) as the perform verbs read it. */
export interface TokenAnswer extends Record<string, unknown> {
  readonly access_token: string
}

/**
 * The token endpoint's JSON, checked to hold an access token.
 * @throws CliError naming `what` when it does not (e.g. `--endpoint` is the admin API).
 */
export function asTokenAnswer(body: unknown, what: string): TokenAnswer {
  if (typeof body !== 'object' || body === null || typeof (body as { access_token?: unknown }).access_token !== 'string') {
    throw new CliError(`${what}: the server did not answer with a token; is --endpoint the public API?`)
  }
  return body as TokenAnswer
}

/**
 * A token as Hydra's CLI prints it (outputOAuth2Token): the table has ACCESS TOKEN, REFRESH
 * TOKEN, ID TOKEN and EXPIRY, missing tokens shown as `<empty>` and the expiry as Go prints a
 * time; the JSON is the token endpoint's answer plus `expiry` (Go's oauth2.Token: now +
 * expires_in), so scope and id_token are there too; `--quiet` prints the access token.
 */
export function tokenRow(body: TokenAnswer, now = Date.now()): Row {
  const expiresAt = typeof body.expires_in === 'number' ? new Date(now + body.expires_in * 1000) : undefined
  const expiry = expiresAt === undefined ? '' : expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z')
  return {
    header: ['ACCESS TOKEN', 'REFRESH TOKEN', 'ID TOKEN', 'EXPIRY'],
    values: [
      body.access_token,
      typeof body.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : '<empty>',
      typeof body.id_token === 'string' ? body.id_token : '<empty>',
      // Go's zero time when there is no expiry; else rounded to the second, as Hydra's table does.
      expiresAt === undefined ? '0001-01-01 00:00:00 +0000 UTC' : goTime(new Date(Math.round(expiresAt.getTime() / 1000) * 1000)),
    ],
    json: expiry === '' ? body : { ...body, expiry },
    id: body.access_token,
  }
}
