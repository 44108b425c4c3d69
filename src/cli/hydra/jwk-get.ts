import type { Command } from 'commander'
import { action } from './errors.js'
import { callApi, target } from './http.js'
import { asKeySet, keyRow, keyTable, publicKey, type SetKey } from './jwk-view.js'
import { verb, type CommonOptions } from './options.js'
import { printRow, printTable } from './output.js'

/**
 * `gatehouse get jwk SET...`: GET /admin/keys/{set} for each set, as Hydra's `get jwk`; one key
 * prints as a row, several as a table. Stops at the first failure.
 */
export function getJwkCommand(): Command {
  return verb('jwk', 'admin', 'get one or more JSON Web Key Sets by id (GET /admin/keys/{set})')
    .alias('jwks')
    .argument('<set-ids...>', 'key sets')
    .option('--public', 'print only the public keys', false)
    .addHelpText('after', '\nExample:\n  gatehouse get jwk hydra.jwt.access-token --public --format json --endpoint http://127.0.0.1:4445/')
    .action(
      action(async (sets: string[], opts: CommonOptions & { public: boolean }) => {
        const to = target(opts, 'admin')
        const keys: SetKey[] = []
        for (const set of sets) {
          const what = `could not get the JSON Web Key Set "${set}"`
          const res = await callApi(to, { method: 'GET', path: `admin/keys/${encodeURIComponent(set)}`, what })
          for (const k of asKeySet(res.body, what)) keys.push({ set, key: opts.public ? publicKey(k) : k })
        }
        if (keys.length === 1) printRow(opts, keyRow(keys[0]!))
        else if (keys.length > 1) printTable(opts, keyTable(keys, sets.length === 1 ? sets[0] : undefined))
      }),
    )
}
