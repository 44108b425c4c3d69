import type { Command } from 'commander'
import { credentials, withCredentials, type CredentialOptions } from './credentials.js'
import { action } from './errors.js'
import { callApi, target } from './http.js'
import { group, verb, type CommonOptions } from './options.js'
import { printRow } from './output.js'

/**
 * `gatehouse revoke token TOKEN`: POST /oauth2/revoke (RFC 7009) as the client the token was
 * issued to. Prints the token, as Hydra's CLI does. An unknown token also succeeds (§2.2).
 */
export function revokeCommand(): Command {
  const token = withCredentials(verb('token', 'public', 'revoke an OAuth 2.0 access token (POST /oauth2/revoke); prints the token'))
    .argument('<token>', 'the token to revoke')
    .addHelpText(
      'after',
      '\nExample:\n  gatehouse revoke token "$ACCESS_TOKEN" --endpoint http://127.0.0.1:4444/ --client-id my-client --client-secret my-secret',
    )
    .action(
      action(async (tok: string, opts: CommonOptions & CredentialOptions) => {
        const client = credentials(opts)
        const to = target(opts, 'public')
        await callApi(to, { method: 'POST', path: 'oauth2/revoke', form: { token: tok }, basic: client, what: 'could not revoke the token' })
        printRow(opts, { header: ['ID'], values: [tok], json: tok, id: tok })
      }),
    )
  return group('revoke', 'revoke OAuth 2.0 tokens', [token])
}
