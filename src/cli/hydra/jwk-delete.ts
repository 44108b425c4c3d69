import type { Command } from 'commander'
import { action } from './errors.js'
import { callApi, target } from './http.js'
import { verb, type CommonOptions } from './options.js'
import { printIds } from './output.js'

/**
 * `gatehouse delete jwk SET...`: DELETE /admin/keys/{set} for each set, as Hydra's `delete jwk`,
 * which stops at the first failure (unlike `delete client`). Prints the deleted set ids.
 */
export function deleteJwkCommand(): Command {
  return verb('jwk', 'admin', 'delete one or more JSON Web Key Sets (DELETE /admin/keys/{set}); prints the deleted set ids')
    .alias('jwks')
    .argument('<set-ids...>', 'key sets')
    .addHelpText('after', '\nExample:\n  gatehouse delete jwk my-set other-set --endpoint http://127.0.0.1:4445/')
    .action(
      action(async (sets: string[], opts: CommonOptions) => {
        const to = target(opts, 'admin')
        const deleted: string[] = []
        try {
          for (const set of sets) {
            await callApi(to, { method: 'DELETE', path: `admin/keys/${encodeURIComponent(set)}`, what: `could not delete the JSON Web Key Set "${set}"` })
            deleted.push(set)
          }
        } finally {
          // What was deleted before a failure is gone: say so even when a later set fails.
          printIds(opts, deleted)
        }
      }),
    )
}
