import { Command, InvalidArgumentError } from 'commander'
import { parseDuration } from '../config/duration.js'
import { loadConfigFor } from '../config/load.js'
import { ConfigError } from '../errors.js'
import { TOKEN_SERVER_CONFIG } from '../token-server/config.js'
import type { Store } from '../token-server/store/types.js'
import { collect } from './options.js'

/** What `gatehouse janitor` reads and writes; tests pass their own. */
export interface JanitorIo {
  readonly env: NodeJS.ProcessEnv
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  /** Seconds since the epoch; tests fix it. */
  readonly now: () => number
}

export interface JanitorOptions {
  readonly dsn?: string | undefined
  readonly readFromEnv: boolean
  readonly config: readonly string[]
  readonly tokens: boolean
  readonly requests: boolean
  readonly grants: boolean
  /** Milliseconds; what expired less than this long ago is kept. */
  readonly keepIfYounger: number
  readonly limit: number
  readonly batchSize: number
}

const PROCESS_IO: JanitorIo = { env: process.env, stdout: process.stdout, stderr: process.stderr, now: () => Math.floor(Date.now() / 1000) }

class JanitorError extends Error {}

/**
 * `gatehouse janitor [DSN]` as `hydra janitor`: an explicit purge for operators who schedule one
 * (the token server also purges all of this in the background). `--tokens` deletes expired
 * access and refresh tokens; `--tokens` or `--requests` deletes the expired OpenID Connect
 * records (login/consent/logout requests, sessions, codes, refresh state), which share one table
 * and one expiry, so one purge serves both. Gatehouse stores no trust grants, so `--grants` finds
 * nothing to delete. Returns the exit code.
 */
export async function runJanitor(opts: JanitorOptions, io: JanitorIo = PROCESS_IO): Promise<number> {
  let store: Store | undefined
  try {
    check(opts)
    const dsn = resolveDsn(opts, io.env)
    const { openStore } = await import('../token-server/store/open.js')
    store = openStore(dsn)
    if (store.kind === 'memory') throw new JanitorError('the memory store lives inside the token server process: there is nothing to clean from here')
    const status = await store.migrationStatus()
    if (status.applied < status.latest) throw new JanitorError('the database is not migrated; run `gatehouse migrate sql up <DSN>` first')
    const { purgeExpiredRecords, purgeExpiredTokens } = await import('../token-server/janitor.js')
    const purge = { notAfter: io.now() - Math.floor(opts.keepIfYounger / 1000), limit: opts.limit, batchSize: opts.batchSize }
    if (opts.tokens) {
      const n = await purgeExpiredTokens(store, purge)
      io.stdout.write(`Successfully completed Janitor run on access and refresh tokens (${n} deleted)\n`)
    }
    if (opts.tokens || opts.requests) {
      const n = await purgeExpiredRecords(store, purge)
      io.stdout.write(`Successfully completed Janitor run on login-consent requests, sessions, codes and refresh state (${n} deleted)\n`)
    }
    if (opts.grants) io.stdout.write('Successfully completed Janitor run on grants (none stored)\n')
    return 0
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    io.stderr.write(`error: ${message.replace(/\s*\n\s*/g, '; ')}\n`)
    return 1
  } finally {
    await store?.close().catch(() => undefined)
  }
}

/** Hydra's argument checks, in its order. */
function check(opts: JanitorOptions): void {
  if (opts.dsn === undefined && !opts.readFromEnv && opts.config.length === 0) {
    throw new JanitorError('a DSN is required as an argument unless -e/--read-from-env (environment variable DSN) or -c/--config (key dsn) is given')
  }
  if (!opts.tokens && !opts.requests && !opts.grants) throw new JanitorError('janitor requires at least one of --tokens, --requests or --grants')
  if (opts.batchSize > opts.limit) throw new JanitorError('--batch-size must not be greater than --limit')
}

/** The argument; else DSN from the environment (-e) or the config files (-c), the environment winning as in the config loader. */
function resolveDsn(opts: JanitorOptions, env: NodeJS.ProcessEnv): string {
  if (opts.dsn !== undefined) {
    if (opts.readFromEnv) throw new JanitorError('give the DSN either as an argument or with -e (from the DSN environment variable), not both')
    return opts.dsn
  }
  if (opts.config.length > 0) {
    try {
      const dsn = loadConfigFor(TOKEN_SERVER_CONFIG, opts.config, env).dsn
      if (dsn.trim() === '' || dsn === 'memory') throw new JanitorError('the config files set no SQL dsn')
      return dsn
    } catch (err) {
      if (err instanceof ConfigError) throw new JanitorError(`invalid configuration: ${err.problems.join('; ')}`)
      throw err
    }
  }
  const dsn = env.DSN ?? ''
  if (dsn.trim() === '') throw new JanitorError('-e was given but the environment variable DSN is not set')
  return dsn
}

function positive(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be an integer greater than 0')
  return Number(value)
}

function duration(value: string): number {
  try {
    return parseDuration(value)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
}

/** `janitor [DSN]`, mounted as `gatehouse janitor` and `gatehouse token-server janitor`. */
export function janitorCommand(io: JanitorIo = PROCESS_IO): Command {
  return new Command('janitor')
    .description('delete expired tokens and OpenID Connect records from the database now, in batches (as `hydra janitor`); the token server also does this in the background')
    .argument('[dsn]', 'database DSN, e.g. postgres://user:password@host:5432/db or sqlite://./data/gatehouse.sqlite')
    .option('--tokens', 'delete expired access and refresh tokens, and the expired OpenID Connect records (as --requests)', false)
    .option('--requests', 'delete expired OpenID Connect records: login/consent/logout requests, sessions, codes, refresh state', false)
    .option('--grants', 'delete expired trust relationships (Gatehouse stores none)', false)
    .option('--keep-if-younger <duration>', 'keep what expired less than this long ago, e.g. 1h', duration, 0)
    .option('--access-lifespan <duration>', 'accepted for Hydra scripts; unused: each token is stored with its own expiry', duration)
    .option('--refresh-lifespan <duration>', 'accepted for Hydra scripts; unused: each refresh token is stored with its own expiry', duration)
    .option('--consent-request-lifespan <duration>', 'accepted for Hydra scripts; unused: each request is stored with its own expiry', duration)
    .option('--limit <n>', 'delete at most this many records per run', positive, 10000)
    .option('--batch-size <n>', 'delete this many records per statement', positive, 100)
    .option('-e, --read-from-env', 'read the DSN from the environment variable DSN', false)
    .option('-c, --config <file>', 'token server config file(s) to read the dsn from; repeat to layer files', collect, [])
    .addHelpText('after', '\nExample:\n  gatehouse janitor --tokens --keep-if-younger 1h postgres://gatehouse:secret@db:5432/gatehouse\n  DSN=... gatehouse janitor -e --tokens')
    .action(async (dsn: string | undefined, o: Omit<JanitorOptions, 'dsn'>) => {
      process.exitCode = await runJanitor({ ...o, dsn }, io)
    })
}
