import { Command, InvalidArgumentError, Option } from 'commander'
import { DEFAULT_ENDPOINTS, type Api } from './http.js'
import { FORMAT_NAMES, parseFormat, TABLE, type Format } from './output.js'

/** The flags every Hydra-style verb has, as commander hands them to the action. */
export interface CommonOptions {
  readonly endpoint?: string
  readonly format: Format
  readonly quiet: boolean
  /** `-H 'Name: value'`, repeatable. */
  readonly httpHeader?: string[]
  readonly skipTlsVerify: boolean
}

/**
 * A leaf verb with Hydra's common flags (ory/x cmdx): `-e/--endpoint` (env `ORY_SDK_URL`),
 * `-H/--http-header`, `--skip-tls-verify`, `--format` and `-q/--quiet`. `api` picks the default
 * endpoint shown in the help.
 */
export function verb(name: string, api: Api, description: string): Command {
  return new Command(name)
    .description(description)
    .addOption(
      new Option('-e, --endpoint <url>', `${api} API URL of the token server (default: ${DEFAULT_ENDPOINTS[api]})`).env('ORY_SDK_URL'),
    )
    .addOption(new Option('-H, --http-header <header>', "an extra HTTP header, e.g. -H 'Authorization: Bearer some-token' (repeatable)").argParser(collectRaw))
    .option('--skip-tls-verify', 'do not verify TLS certificates (self-signed test setups only, never in production)', false)
    .addOption(new Option('--format <format>', `output format: ${FORMAT_NAMES}`).argParser(parseFormat).default(TABLE, 'table'))
    .option('-q, --quiet', 'print only the id(s), one per line', false)
}

/** A verb group such as `create` or `delete`; commander shows its help when no sub-verb is given. */
export function group(name: string, description: string, verbs: readonly Command[]): Command {
  const g = new Command(name).description(description)
  for (const v of verbs) g.addCommand(v)
  return g
}

/**
 * Hydra's string slices: a flag may repeat and each value may hold several items separated by
 * commas (`--scope a,b --scope c` → a, b, c). Empty items are dropped.
 */
export function collectList(value: string, previous: readonly string[] | undefined): string[] {
  // No commander default: it would print "(default: [])" in every help text.
  return [...(previous ?? []), ...value.split(',').map((s) => s.trim()).filter((s) => s !== '')]
}

/** A repeatable flag whose values are kept whole (a header value may contain commas). */
export function collectRaw(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/** Commander parser for a positive integer flag value. */
export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a positive integer')
  return Number(value)
}
