import { Option, type Command } from 'commander'
import { CliError } from './errors.js'

/** `--client-id` / `--client-secret` as commander hands them over. */
export interface CredentialOptions {
  readonly clientId?: string
  readonly clientSecret?: string
}

/** Adds Hydra's client credential flags, which fall back to OAUTH2_CLIENT_ID and OAUTH2_CLIENT_SECRET. */
export function withCredentials(cmd: Command): Command {
  return cmd
    .addOption(new Option('--client-id <id>', 'the OAuth 2.0 client id').env('OAUTH2_CLIENT_ID'))
    .addOption(new Option('--client-secret <secret>', 'the OAuth 2.0 client secret').env('OAUTH2_CLIENT_SECRET'))
}

/** Both credentials, or a message that says how to give them. */
export function credentials(opts: CredentialOptions): { id: string; secret: string } {
  if (opts.clientId === undefined || opts.clientId === '' || opts.clientSecret === undefined || opts.clientSecret === '') {
    throw new CliError('please provide a client id and secret with --client-id and --client-secret, or the environment variables OAUTH2_CLIENT_ID and OAUTH2_CLIENT_SECRET')
  }
  return { id: opts.clientId, secret: opts.clientSecret }
}
