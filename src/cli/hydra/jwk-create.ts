import type { Command } from 'commander'
import { action } from './errors.js'
import { callApi, target } from './http.js'
import { asKeySet, keyTable, publicKey } from './jwk-view.js'
import { verb, type CommonOptions } from './options.js'
import { printTable } from './output.js'

interface CreateJwkOptions extends CommonOptions {
  readonly alg: string
  readonly use: string
  readonly public: boolean
}

/**
 * `gatehouse create jwk SET [KID] --alg RS256 --use sig`: POST /admin/keys/{set} generates a key
 * and adds it to the set (creating the set), as Hydra's `create jwk`. The new key is the set's
 * newest, so it signs from now on when the set is one the server signs with.
 */
export function createJwkCommand(): Command {
  return verb('jwk', 'admin', 'generate a JSON Web Key and add it to a set (POST /admin/keys/{set})')
    .alias('jwks')
    .argument('<set-id>', 'the key set, e.g. hydra.jwt.access-token')
    .argument('[key-id]', 'the key id (default: a random UUID)')
    .option('--alg <alg>', 'the algorithm of the key: RS256 or ES256 (what the token server signs with)', 'RS256')
    .option('--use <use>', 'the intended use of the key: sig or enc', 'sig')
    .option('--public', 'print only the public key', false)
    .addHelpText('after', '\nExample:\n  gatehouse create jwk hydra.jwt.access-token --alg RS256 --use sig --endpoint http://127.0.0.1:4445/')
    .action(
      action(async (set: string, kid: string | undefined, opts: CreateJwkOptions) => {
        const what = `could not create a JSON Web Key in set "${set}"`
        const res = await callApi(target(opts, 'admin'), {
          method: 'POST',
          path: `admin/keys/${encodeURIComponent(set)}`,
          json: { alg: opts.alg, use: opts.use, ...(kid === undefined ? {} : { kid }) },
          what,
        })
        const keys = asKeySet(res.body, what).map((k) => (opts.public ? publicKey(k) : k))
        printTable(opts, keyTable(keys.map((key) => ({ set, key })), set))
      }),
    )
}
