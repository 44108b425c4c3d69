import type { Command } from 'commander'
import { bindFlags, clientFromFile, clientPatch, withClientFlags } from './client-flags.js'
import { asClient, clientRow } from './client-view.js'
import { action, CliError } from './errors.js'
import { callApi, target } from './http.js'
import { group, verb, type CommonOptions } from './options.js'
import { printRow } from './output.js'

/**
 * `gatehouse update client ID`: the flags given become a JSON Patch (PATCH /admin/clients/{id}),
 * so every other field keeps its value; `--file` replaces the whole client (PUT), resetting
 * fields the file leaves out. As in Hydra, a secret that was sent is shown in the output.
 */
export function updateCommand(): Command {
  const bound = bindFlags({ withId: false })
  const client = verb('client', 'admin', 'update an OAuth 2.0 client: only the given flags change (PATCH); --file replaces the whole client (PUT)')
    .alias('oauth2-client')
    .argument('<id>', 'the client to update')
    .addHelpText(
      'after',
      '\nExample:\n  gatehouse update client my-client --endpoint http://127.0.0.1:4445/ --scope api,read --name "my app"\n' +
        '  gatehouse update client my-client --endpoint http://127.0.0.1:4445/ --file client.json',
    )
  withClientFlags(client, bound)
  client.action(
    action(async (id: string, opts: CommonOptions & Record<string, unknown>) => {
      const to = target(opts, 'admin')
      const what = `could not update the OAuth 2.0 client "${id}"`
      const path = `admin/clients/${encodeURIComponent(id)}`
      let sentSecret: unknown
      let res
      if (typeof opts.file === 'string') {
        const body = clientFromFile(opts.file)
        // The id is the argument's; a different one in the file would be a rename, which Hydra refuses too.
        if (body.client_id !== undefined && body.client_id !== id) throw new CliError(`${what}: the file names client "${String(body.client_id)}"`)
        sentSecret = body.client_secret
        res = await callApi(to, { method: 'PUT', path, json: { ...body, client_id: id }, what })
      } else {
        const ops = clientPatch(bound, opts)
        if (ops.length === 0) throw new CliError(`${what}: nothing to change; give the fields to change as flags (see --help) or --file`)
        sentSecret = opts.secret
        res = await callApi(to, { method: 'PATCH', path, json: ops, what })
      }
      const updated = asClient(res.body, what)
      if (updated.client_secret === undefined && typeof sentSecret === 'string' && sentSecret !== '') updated.client_secret = sentSecret
      printRow(opts, clientRow(updated))
    }),
  )
  return group('update', 'update resources (OAuth 2.0 clients)', [client])
}
