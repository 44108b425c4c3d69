import { Option, type Command } from 'commander'
import { asClient, clientRow } from './client-view.js'
import { action, CliError } from './errors.js'
import { callApi, resolveEndpoint } from './http.js'
import { collectList, group, verb, type CommonOptions } from './options.js'
import { printRow } from './output.js'

/** A `create client` flag and the client field it sets (Hydra's flag names). */
interface ClientFlag {
  readonly flags: string
  readonly field: string
  readonly kind: 'string' | 'list' | 'boolean'
  readonly description: string
}

/**
 * Hydra 2.x's `create oauth2-client` flags. Only flags that were given go into the request, so
 * the server's defaults (grant type authorization_code, response type code, a generated
 * secret…) apply exactly as they do for an API call.
 */
const CLIENT_FLAGS: readonly ClientFlag[] = [
  { flags: '--id <id>', field: 'client_id', kind: 'string', description: "the client's id (default: a random UUID)" },
  { flags: '--secret <secret>', field: 'client_secret', kind: 'string', description: "the client's secret (default: generated and shown once)" },
  { flags: '-n, --name <name>', field: 'client_name', kind: 'string', description: "the client's name" },
  { flags: '--owner <owner>', field: 'owner', kind: 'string', description: 'the owner of this client, typically an email address or a user id' },
  { flags: '-g, --grant-type <types>', field: 'grant_types', kind: 'list', description: 'allowed grant types, e.g. client_credentials (default: authorization_code)' },
  { flags: '-r, --response-type <types>', field: 'response_types', kind: 'list', description: 'allowed response types (default: code)' },
  { flags: '-a, --scope <scopes>', field: 'scope', kind: 'list', description: 'scopes the client may request' },
  { flags: '--audience <audiences>', field: 'audience', kind: 'list', description: 'audiences the client may request' },
  { flags: '-c, --redirect-uri <uris>', field: 'redirect_uris', kind: 'list', description: 'allowed OAuth2 redirect URIs' },
  {
    flags: '--token-endpoint-auth-method <method>',
    field: 'token_endpoint_auth_method',
    kind: 'string',
    description: 'how the client authenticates at the token endpoint: client_secret_basic (default), client_secret_post or none',
  },
  { flags: '--contact <contacts>', field: 'contacts', kind: 'list', description: 'ways to contact the people responsible for this client' },
  { flags: '--allowed-cors-origin <origins>', field: 'allowed_cors_origins', kind: 'list', description: 'origins allowed to make CORS requests' },
  { flags: '--post-logout-callback <uris>', field: 'post_logout_redirect_uris', kind: 'list', description: 'URLs allowed as redirect after logout' },
  { flags: '--request-uri <uris>', field: 'request_uris', kind: 'list', description: 'pre-registered request_uri values' },
  { flags: '--client-uri <url>', field: 'client_uri', kind: 'string', description: 'a web page about the client' },
  { flags: '--logo-uri <url>', field: 'logo_uri', kind: 'string', description: "the client's logo" },
  { flags: '--policy-uri <url>', field: 'policy_uri', kind: 'string', description: "the client's privacy policy" },
  { flags: '--tos-uri <url>', field: 'tos_uri', kind: 'string', description: "the client's terms of service" },
  { flags: '--jwks-uri <url>', field: 'jwks_uri', kind: 'string', description: "where the client's JSON Web Key Set is published" },
  { flags: '--subject-type <type>', field: 'subject_type', kind: 'string', description: 'public (default) or pairwise' },
  { flags: '--sector-identifier-uri <url>', field: 'sector_identifier_uri', kind: 'string', description: 'used to compute pairwise subject identifiers' },
  { flags: '--backchannel-logout-callback <url>', field: 'backchannel_logout_uri', kind: 'string', description: 'back-channel logout URL' },
  { flags: '--frontchannel-logout-callback <url>', field: 'frontchannel_logout_uri', kind: 'string', description: 'front-channel logout URL' },
  { flags: '--skip-consent', field: 'skip_consent', kind: 'boolean', description: 'skip the consent screen for this client' },
  {
    flags: '--backchannel-logout-session-required',
    field: 'backchannel_logout_session_required',
    kind: 'boolean',
    description: 'the logout token must carry a sid claim',
  },
  {
    flags: '--frontchannel-logout-session-required',
    field: 'frontchannel_logout_session_required',
    kind: 'boolean',
    description: 'the front-channel logout URL gets iss and sid',
  },
]

interface BoundFlag {
  readonly flag: ClientFlag
  readonly option: Option
  /** Where commander puts the value, e.g. `grantType`. */
  readonly key: string
}

function bindFlags(): BoundFlag[] {
  return CLIENT_FLAGS.map((f) => {
    const o = new Option(f.flags, f.description)
    if (f.kind === 'list') o.argParser(collectList)
    return { flag: f, option: o, key: o.attributeName() }
  })
}

/** `gatehouse create client`: POST /admin/clients and print the client, its secret included. */
export function createCommand(): Command {
  const bound = bindFlags()
  const client = verb('client', 'admin', 'create an OAuth 2.0 client (POST /admin/clients); prints it, including its secret, which is shown only this once')
    .alias('oauth2-client')
    .addHelpText(
      'after',
      '\nExample:\n  gatehouse create client --endpoint http://127.0.0.1:4445/ --format json \\\n' +
        '    --grant-type client_credentials --scope api,read --audience https://api.example.com --secret my-secret-value\n' +
        '\nLists (--grant-type, --scope, --audience, …) may repeat and accept comma-separated values.',
    )
  for (const b of bound) client.addOption(b.option)
  client.option('--metadata <json>', 'arbitrary JSON object stored with the client, e.g. {"team":"payments"}')
  client.action(
    action(async (opts: CommonOptions & Record<string, unknown>) => {
      const base = resolveEndpoint(opts.endpoint, 'admin')
      const res = await callApi(base, { method: 'POST', path: 'admin/clients', json: clientBody(bound, opts), what: 'could not create the OAuth 2.0 client' })
      printRow(opts, clientRow(asClient(res.body, 'could not create the OAuth 2.0 client')))
    }),
  )
  return group('create', 'create resources (OAuth 2.0 clients)', [client])
}

/** The request body: only the fields whose flags were given. */
function clientBody(bound: readonly BoundFlag[], opts: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  for (const { flag, key } of bound) {
    const v = opts[key]
    if (flag.kind === 'list') {
      const list = (v as string[] | undefined) ?? []
      // Hydra keeps the scope as one space-delimited string (RFC 6749 §3.3), the rest as arrays.
      if (list.length > 0) body[flag.field] = flag.field === 'scope' ? list.join(' ') : list
    } else if (v !== undefined) body[flag.field] = v
  }
  if (opts.metadata !== undefined) body.metadata = parseMetadata(String(opts.metadata))
  // Hydra's CLI flags default to these and send them; the server itself leaves them unset.
  body.grant_types ??= ['authorization_code']
  body.response_types ??= ['code']
  return body
}

function parseMetadata(text: string): Record<string, unknown> {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    throw new CliError(`--metadata is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CliError('--metadata must be a JSON object, e.g. {"team":"payments"}')
  return v as Record<string, unknown>
}
