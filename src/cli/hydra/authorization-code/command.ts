import { InvalidArgumentError, Option, type Command } from 'commander'
import { parseDuration } from '../../../config/duration.js'
import { withCredentials, type CredentialOptions } from '../credentials.js'
import { action, CliError } from '../errors.js'
import { target } from '../http.js'
import { collectList, verb, type CommonOptions } from '../options.js'
import { performAuthorizationCode } from './run.js'

interface AuthorizationCodeOptions extends CommonOptions, CredentialOptions {
  readonly port: number
  readonly scope?: string[]
  readonly prompt?: string[]
  readonly maxAge: number
  /** false with --no-shutdown. */
  readonly shutdown: boolean
  /** false with --no-open. */
  readonly open: boolean
  readonly state?: string
  readonly redirect?: string
  readonly audience?: string[]
  readonly authUrl?: string
  readonly tokenUrl?: string
  readonly https: boolean
  readonly responseMode?: string
  readonly timeout: number
}

/** Hydra's default scopes: a refresh token and an ID token. */
const DEFAULT_SCOPE = ['offline', 'openid']

/**
 * `gatehouse perform authorization-code`: Hydra's example OAuth 2.0 client. It serves a page on
 * 127.0.0.1 (port 4446), sends the browser to the authorization endpoint, takes the code at its
 * callback and prints the tokens. Flags and defaults are Hydra's (cmd_perform_authorization_code.go);
 * `--timeout` is ours, so an unattended run cannot wait forever.
 */
export function authorizationCodeCommand(): Command {
  return withCredentials(
    verb('authorization-code', 'public', 'example OAuth 2.0 client performing the authorization code flow (with PKCE) in your browser; prints the tokens'),
  )
    .addOption(new Option('-p, --port <port>', 'the port of the local server (0: any free port)').argParser(port).default(4446))
    .option('--scope <scopes>', 'scopes to request (repeat or comma-separate; default: offline,openid)', collectList)
    .option('--prompt <prompts>', 'the OpenID Connect prompt parameter, e.g. login,consent (repeat or comma-separate)', collectList)
    .addOption(new Option('--max-age <seconds>', 'the OpenID Connect max_age parameter; -1: none is sent').argParser(maxAge).default(-1))
    .option('--audience <audiences>', 'access token audiences to request (repeat or comma-separate)', collectList)
    .option('--no-open', 'do not open the browser window automatically')
    .option('--no-shutdown', 'do not stop after one flow (success or error); state and nonce are regenerated for the next one')
    .option('--state <state>', 'force a state value (insecure; for scripted tests)')
    .option('--redirect <url>', 'force a redirect URL (default: http://127.0.0.1:<port>/callback)')
    .option('--auth-url <url>', 'force the authorization URL (default: <endpoint>/oauth2/auth)')
    .option('--token-url <url>', 'force the token URL (default: <endpoint>/oauth2/token)')
    .option('--https', 'serve HTTPS with a self-signed certificate, generated anew at every start', false)
    .option('--response-mode <mode>', 'the response_mode parameter: query (the server\'s default) or form_post')
    .addOption(new Option('--timeout <duration>', 'give up when no answer came back within this time (0: wait forever)').argParser(duration).default(600_000, '10m'))
    .addHelpText(
      'after',
      '\nThe client needs the redirect URI http://127.0.0.1:4446/callback, e.g.:\n' +
        '  gatehouse create client --endpoint http://127.0.0.1:4445/ --grant-type authorization_code,refresh_token \\\n' +
        '    --response-type code --scope openid,offline --redirect-uri http://127.0.0.1:4446/callback\n' +
        '  gatehouse perform authorization-code --endpoint http://127.0.0.1:4444/ --client-id ... --client-secret ...\n' +
        '\nA public client (--token-endpoint-auth-method none) leaves out --client-secret.',
    )
    .action(
      action(async (opts: AuthorizationCodeOptions) => {
        if (opts.clientId === undefined || opts.clientId === '') {
          throw new CliError('Please provide a Client ID using --client-id flag, or OAUTH2_CLIENT_ID environment variable.')
        }
        const to = target(opts, 'public')
        await performAuthorizationCode({
          request: {
            clientId: opts.clientId,
            authUrl: httpUrl('--auth-url', opts.authUrl, new URL('oauth2/auth', to.base)),
            scope: opts.scope ?? DEFAULT_SCOPE,
            audience: opts.audience ?? [],
            prompt: opts.prompt ?? [],
            maxAge: opts.maxAge,
            responseMode: opts.responseMode,
            state: opts.state,
          },
          redirect: opts.redirect === undefined ? undefined : httpUrl('--redirect', opts.redirect).href,
          client: { clientId: opts.clientId, clientSecret: opts.clientSecret ?? '' },
          token: { ...to, base: httpUrl('--token-url', opts.tokenUrl, new URL('oauth2/token', to.base)) },
          port: opts.port,
          https: opts.https,
          open: opts.open,
          shutdown: opts.shutdown,
          timeoutMs: opts.timeout,
          output: opts,
        })
      }),
    )
}

/** A flag's http(s) URL, or the fallback when the flag was not given. */
function httpUrl(flag: string, value: string | undefined, fallback?: URL): URL {
  if (value === undefined || value === '') {
    if (fallback === undefined) throw new CliError(`${flag} must not be empty`)
    return fallback
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new CliError(`${flag} "${value}" is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`${flag} "${value}" must be an http:// or https:// URL`)
  return url
}

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('must be a port number, 0 to 65535')
  return Number(value)
}

function maxAge(value: string): number {
  if (!/^-?\d+$/.test(value) || Number(value) < -1) throw new InvalidArgumentError('must be a number of seconds, or -1 for none')
  return Number(value)
}

function duration(value: string): number {
  try {
    return parseDuration(value)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
}
