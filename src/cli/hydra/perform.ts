import type { Command } from 'commander'
import { credentials, withCredentials, type CredentialOptions } from './credentials.js'
import { action, CliError } from './errors.js'
import { callApi, target } from './http.js'
import { collectList, group, verb, type CommonOptions } from './options.js'
import { goTime, printRow } from './output.js'

interface PerformOptions extends CommonOptions, CredentialOptions {
  readonly scope?: string[]
  readonly audience?: string[]
}

/**
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
        const body = res.body as Record<string, unknown> | undefined
        if (typeof body !== 'object' || body === null || typeof body.access_token !== 'string') {
          throw new CliError(`${what}: the server did not answer with a token; is --endpoint the public API?`)
        }
        // `expiry` is what Hydra's CLI prints (Go's oauth2.Token: now + expires_in); its table rounds it to the second.
        const expiresAt = typeof body.expires_in === 'number' ? new Date(Date.now() + body.expires_in * 1000) : undefined
        const expiry = expiresAt === undefined ? '' : expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z')
        printRow(opts, {
          // Hydra's outputOAuth2Token: missing tokens show as <empty>, the expiry as Go prints a time.
          header: ['ACCESS TOKEN', 'REFRESH TOKEN', 'ID TOKEN', 'EXPIRY'],
          values: [
            body.access_token,
            typeof body.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : '<empty>',
            typeof body.id_token === 'string' ? body.id_token : '<empty>',
            expiresAt === undefined ? '0001-01-01 00:00:00 +0000 UTC' : goTime(new Date(Math.round(expiresAt.getTime() / 1000) * 1000)),
          ],
          json: expiry === '' ? body : { ...body, expiry },
          id: body.access_token,
        })
      }),
    )
  return group('perform', 'perform OAuth 2.0 flows', [cc])
}
