import type { Command } from 'commander'
import { credentials, withCredentials, type CredentialOptions } from './credentials.js'
import { authorizationCodeCommand } from './authorization-code/command.js'
import { action } from './errors.js'
import { callApi, target } from './http.js'
import { collectList, group, verb, type CommonOptions } from './options.js'
import { printRow } from './output.js'
import { asTokenAnswer, tokenRow } from './token-view.js'

interface PerformOptions extends CommonOptions, CredentialOptions {
  readonly scope?: string[]
  readonly audience?: string[]
}

/**
 * `gatehouse perform authorization-code` (authorization-code/command.ts) and
 * `gatehouse perform client-credentials`: POST /oauth2/token with grant_type=client_credentials,
 * the client authenticated by HTTP Basic (client_secret_basic, the default auth method).
 */
export function performCommand(): Command {
  const cc = withCredentials(
    verb('client-credentials', 'public', 'perform the OAuth 2.0 client credentials flow (POST /oauth2/token) and print the access token'),
  )
    .option('--scope <scopes>', 'scopes to request (repeat or comma-separate)', collectList)
    .option('--audience <audiences>', 'audiences to request (repeat or comma-separate)', collectList)
    .addHelpText(
      'after',
      '\nExample:\n  gatehouse perform client-credentials --endpoint http://127.0.0.1:4444/ \\\n    --client-id my-client --client-secret my-secret --scope api --format json',
    )
    .action(
      action(async (opts: PerformOptions) => {
        const client = credentials(opts)
        const to = target(opts, 'public')
        const what = 'could not get an access token'
        const res = await callApi(to, {
          method: 'POST',
          path: 'oauth2/token',
          // Hydra's CLI sends scope and audience each as one space-delimited value.
          form: { grant_type: 'client_credentials', scope: (opts.scope ?? []).join(' '), audience: (opts.audience ?? []).join(' ') },
          basic: client,
          what,
        })
        printRow(opts, tokenRow(asTokenAnswer(res.body, what)))
      }),
    )
  return group('perform', 'perform OAuth 2.0 flows', [authorizationCodeCommand(), cc])
}
