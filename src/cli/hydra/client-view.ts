import { CliError } from './errors.js'
import { joinList, str, type Row, type Table } from './output.js'

/** An OAuth2 client as the admin API returns it (Hydra's JSON; only what the views read is typed). */
export type ClientJson = Record<string, unknown> & { client_id: string }

type Field = readonly [header: string, value: (c: ClientJson) => string]

const ID: Field = ['CLIENT ID', (c) => c.client_id]
const NAME: Field = ['CLIENT NAME', (c) => str(c.client_name)]
const SECRET: Field = ['CLIENT SECRET', (c) => str(c.client_secret)]
const GRANTS: Field = ['GRANT TYPES', (c) => joinList(c.grant_types)]
const RESPONSES: Field = ['RESPONSE TYPES', (c) => joinList(c.response_types)]
const SCOPE: Field = ['SCOPE', (c) => str(c.scope)]
const AUDIENCE: Field = ['AUDIENCE', (c) => joinList(c.audience)]
const REDIRECTS: Field = ['REDIRECT URIS', (c) => joinList(c.redirect_uris)]
const OWNER: Field = ['OWNER', (c) => str(c.owner)]
const AUTH: Field = ['TOKEN ENDPOINT AUTH METHOD', (c) => str(c.token_endpoint_auth_method)]

/** One client: Hydra's fields plus name, owner and auth method; the secret only appears right after it was set. */
const ROW_FIELDS: readonly Field[] = [ID, NAME, SECRET, GRANTS, RESPONSES, SCOPE, AUDIENCE, REDIRECTS, OWNER, AUTH]
/** A list never carries secrets, so that column would always be empty. */
const TABLE_FIELDS: readonly Field[] = [ID, NAME, GRANTS, SCOPE, AUDIENCE, OWNER, AUTH]

/** Checks that an answer is a client document, so a wrong endpoint fails clearly instead of printing blanks. */
export function asClient(body: unknown, what: string): ClientJson {
  if (typeof body !== 'object' || body === null || typeof (body as { client_id?: unknown }).client_id !== 'string') {
    throw new CliError(`${what}: the server did not answer with an OAuth 2.0 client; is --endpoint the admin API?`)
  }
  return body as ClientJson
}

/** The row view of one client; `json` is the API's document as received. */
export function clientRow(c: ClientJson): Row {
  return { header: ROW_FIELDS.map((f) => f[0]), values: ROW_FIELDS.map((f) => f[1](c)), json: c, id: c.client_id }
}

/** The table view of several clients; `json` defaults to the list as received. */
export function clientTable(clients: readonly ClientJson[], extra: Partial<Pick<Table, 'json' | 'footer'>> = {}): Table {
  return {
    header: TABLE_FIELDS.map((f) => f[0]),
    rows: clients.map((c) => TABLE_FIELDS.map((f) => f[1](c))),
    json: extra.json ?? clients,
    ids: clients.map((c) => c.client_id),
    ...(extra.footer === undefined ? {} : { footer: extra.footer }),
  }
}
