import { CliError } from './errors.js'
import { joinList, str, type Row, type Table } from './output.js'

/** An OAuth2 client as the admin API returns it (Hydra's JSON; only what the views read is typed). */
export type ClientJson = Record<string, unknown> & { client_id: string }

type Field = readonly [header: string, value: (c: ClientJson) => string]

/**
 * Hydra's outputOAuth2Client columns, for one client and for lists alike (a list's secret column
 * is empty: secrets are only ever shown right after they were set). Audiences are joined by ','
 * and the other lists by ', ', as Hydra prints them.
 */
const FIELDS: readonly Field[] = [
  ['CLIENT ID', (c) => c.client_id],
  ['CLIENT SECRET', (c) => str(c.client_secret)],
  ['GRANT TYPES', (c) => joinList(c.grant_types)],
  ['RESPONSE TYPES', (c) => joinList(c.response_types)],
  ['SCOPE', (c) => str(c.scope)],
  ['AUDIENCE', (c) => joinList(c.audience, ',')],
  ['REDIRECT URIS', (c) => joinList(c.redirect_uris)],
]

/** Checks that an answer is a client document, so a wrong endpoint fails clearly instead of printing blanks. */
export function asClient(body: unknown, what: string): ClientJson {
  if (typeof body !== 'object' || body === null || typeof (body as { client_id?: unknown }).client_id !== 'string') {
    throw new CliError(`${what}: the server did not answer with an OAuth 2.0 client; is --endpoint the admin API?`)
  }
  return body as ClientJson
}

/** The row view of one client; `json` is the API's document as received. */
export function clientRow(c: ClientJson): Row {
  return { header: FIELDS.map((f) => f[0]), values: FIELDS.map((f) => f[1](c)), json: c, id: c.client_id }
}

/** The table view of several clients; `json` defaults to the list as received. */
export function clientTable(clients: readonly ClientJson[], extra: Partial<Pick<Table, 'json' | 'footer'>> = {}): Table {
  return {
    header: FIELDS.map((f) => f[0]),
    rows: clients.map((c) => FIELDS.map((f) => f[1](c))),
    json: extra.json ?? clients,
    ids: clients.map((c) => c.client_id),
    ...(extra.footer === undefined ? {} : { footer: extra.footer }),
  }
}
