import type { Command } from 'commander'
import { asClient, clientRow, clientTable, type ClientJson } from './client-view.js'
import { action } from './errors.js'
import { callApi, target } from './http.js'
import { group, verb, type CommonOptions } from './options.js'
import { getJwkCommand } from './jwk-get.js'
import { printRow, printTable } from './output.js'

/** `gatehouse get client ID...`: GET /admin/clients/{id} for each id; stops at the first failure, as Hydra's CLI does. */
export function getCommand(): Command {
  const client = verb('client', 'admin', 'get one or more OAuth 2.0 clients by id (GET /admin/clients/{id})')
    .aliases(['oauth2-client', 'clients', 'oauth2-clients'])
    .argument('<ids...>', 'client ids')
    .addHelpText('after', '\nExample:\n  gatehouse get client my-client --endpoint http://127.0.0.1:4445/ --format json')
    .action(
      action(async (ids: string[], opts: CommonOptions) => {
        const to = target(opts, 'admin')
        const clients: ClientJson[] = []
        for (const id of ids) {
          const what = `could not get the OAuth 2.0 client "${id}"`
          const res = await callApi(to, { method: 'GET', path: `admin/clients/${encodeURIComponent(id)}`, what })
          clients.push(asClient(res.body, what))
        }
        if (clients.length === 1) printRow(opts, clientRow(clients[0]!))
        else printTable(opts, clientTable(clients))
      }),
    )
  return group('get', 'get resources (OAuth 2.0 clients, JSON Web Key Sets)', [client, getJwkCommand()])
}
