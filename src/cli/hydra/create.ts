import type { Command } from 'commander'
import { bindFlags, clientBody, clientFromFile, withClientFlags } from './client-flags.js'
import { asClient, clientRow } from './client-view.js'
import { action } from './errors.js'
import { callApi, target } from './http.js'
import { group, verb, type CommonOptions } from './options.js'
import { createJwkCommand } from './jwk-create.js'
import { printRow } from './output.js'

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
  withClientFlags(client, bound)
  client.action(
    action(async (opts: CommonOptions & Record<string, unknown>) => {
      const to = target(opts, 'admin')
      // As in Hydra, --file replaces the other client flags, but --id still names the client.
      const body = typeof opts.file === 'string' ? clientFromFile(opts.file) : withCreateDefaults(clientBody(bound, opts))
      if (typeof opts.id === 'string') body.client_id = opts.id
      const res = await callApi(to, { method: 'POST', path: 'admin/clients', json: body, what: 'could not create the OAuth 2.0 client' })
      const created = asClient(res.body, 'could not create the OAuth 2.0 client')
      // Hydra shows the secret it sent when the answer leaves it out.
      if (created.client_secret === undefined && typeof body.client_secret === 'string') created.client_secret = body.client_secret
      printRow(opts, clientRow(created))
    }),
  )
  return group('create', 'create resources (OAuth 2.0 clients, JSON Web Key Sets)', [client, createJwkCommand()])
}

/** Hydra's CLI flags default to these and send them; the server itself leaves them unset. */
function withCreateDefaults(body: Record<string, unknown>): Record<string, unknown> {
  body.grant_types ??= ['authorization_code']
  body.response_types ??= ['code']
  return body
}
