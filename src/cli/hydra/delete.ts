import type { Command } from 'commander'
import { action, ApiError, report } from './errors.js'
import { callApi, target } from './http.js'
import { group, verb, type CommonOptions } from './options.js'
import { printIds } from './output.js'
import { deleteJwkCommand } from './jwk-delete.js'

/** `gatehouse delete client ID...` and `gatehouse delete access-tokens CLIENT_ID`. */
export function deleteCommand(): Command {
  const client = verb('client', 'admin', 'delete one or more OAuth 2.0 clients and their tokens (DELETE /admin/clients/{id}); prints the deleted ids')
    .aliases(['oauth2-client', 'clients', 'oauth2-clients'])
    .argument('<ids...>', 'client ids')
    .addHelpText('after', '\nExample:\n  gatehouse delete client my-client other-client --endpoint http://127.0.0.1:4445/')
    .action(
      action(async (ids: string[], opts: CommonOptions) => {
        const to = target(opts, 'admin')
        const deleted: string[] = []
        for (const id of ids) {
          try {
            await callApi(to, { method: 'DELETE', path: `admin/clients/${encodeURIComponent(id)}`, what: `could not delete the OAuth 2.0 client "${id}"` })
            deleted.push(id)
          } catch (err) {
            // Like Hydra's CLI: one unknown id does not stop the others; the exit code still says it failed.
            // An unreachable server would fail every id the same way, so that ends the command.
            if (!(err instanceof ApiError)) throw err
            report(err)
          }
        }
        printIds(opts, deleted)
      }),
    )

  const tokens = verb('access-tokens', 'admin', 'revoke every access token of an OAuth 2.0 client (DELETE /admin/oauth2/tokens?client_id=); prints the client id')
    .argument('<client-id>', 'the client whose tokens to revoke')
    .addHelpText('after', '\nExample:\n  gatehouse delete access-tokens my-client --endpoint http://127.0.0.1:4445/')
    .action(
      action(async (clientId: string, opts: CommonOptions) => {
        const to = target(opts, 'admin')
        await callApi(to, {
          method: 'DELETE',
          path: 'admin/oauth2/tokens',
          query: { client_id: clientId },
          what: `could not delete the access tokens of the OAuth 2.0 client "${clientId}"`,
        })
        printIds(opts, [clientId])
      }),
    )
  return group('delete', 'delete resources (OAuth 2.0 clients, access tokens, JSON Web Key Sets)', [client, tokens, deleteJwkCommand()])
}
