import type { Command } from 'commander'
import { action, CliError } from './errors.js'
import { callApi, target } from './http.js'
import { collectList, group, verb, type CommonOptions } from './options.js'
import { printRow, str, unixTime } from './output.js'

interface IntrospectOptions extends CommonOptions {
  readonly scope?: string[]
}

/**
 * `gatehouse introspect token TOKEN`: POST /admin/oauth2/introspect (RFC 7662). An invalid,
 * expired or revoked token is not an error: the answer is `active: false`, exit code 0.
 */
export function introspectCommand(): Command {
  const token = verb('token', 'admin', 'introspect an OAuth 2.0 access token (POST /admin/oauth2/introspect)')
    .argument('<token>', 'the token to introspect')
    .option('--scope <scopes>', 'also check that these scopes were granted (repeat or comma-separate)', collectList)
    .addHelpText('after', '\nExample:\n  gatehouse introspect token "$ACCESS_TOKEN" --endpoint http://127.0.0.1:4445/ --format json')
    .action(
      action(async (tok: string, opts: IntrospectOptions) => {
        const to = target(opts, 'admin')
        const what = 'could not introspect the token'
        const res = await callApi(to, { method: 'POST', path: 'admin/oauth2/introspect', form: { token: tok, scope: (opts.scope ?? []).join(' ') }, what })
        const body = res.body as Record<string, unknown> | undefined
        if (typeof body !== 'object' || body === null || typeof body.active !== 'boolean') {
          throw new CliError(`${what}: the server did not answer with an introspection result; is --endpoint the admin API?`)
        }
        printRow(opts, {
          header: ['ACTIVE', 'SUBJECT', 'CLIENT ID', 'SCOPE', 'EXPIRY', 'TOKEN USE'],
          values: [String(body.active), str(body.sub), str(body.client_id), str(body.scope), unixTime(body.exp), str(body.token_use)],
          json: body,
          // Hydra's CLI prints the first column when quiet: whether the token is active.
          id: String(body.active),
        })
      }),
    )
  return group('introspect', 'introspect OAuth 2.0 tokens', [token])
}
