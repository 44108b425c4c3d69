import { createInterface } from 'node:readline'
import { Command } from 'commander'
import { POSTGRES_MIGRATIONS } from '../token-server/store/migrations/postgres.js'
import { SQLITE_MIGRATIONS } from '../token-server/store/migrations/sqlite.js'
import type { Migration } from '../token-server/store/migrations/types.js'
import type { Store } from '../token-server/store/types.js'

/** What `migrate sql` reads from and writes to; tests pass their own. */
export interface MigrateIo {
  readonly env: NodeJS.ProcessEnv
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean }
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
}

export interface MigrateSqlOptions {
  /** The DSN argument, if given. */
  readonly dsn?: string | undefined
  /** `-e`: read the DSN from the environment variable DSN. */
  readonly readFromEnv: boolean
  /** `--yes`: apply without asking. */
  readonly yes: boolean
}

const PROCESS_IO: MigrateIo = { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }

const MIGRATIONS: Readonly<Record<Store['kind'], readonly Migration[]>> = {
  memory: [],
  sqlite: SQLITE_MIGRATIONS,
  postgres: POSTGRES_MIGRATIONS,
}

/** A problem to report in one line, without a stack trace. */
class MigrateError extends Error {}

/**
 * `migrate sql [DSN] [-e] [--yes]` as in Hydra: shows the pending migrations and applies them.
 * Returns the exit code: 0 when the database is up to date afterwards, 1 otherwise. Every
 * failure (no DSN, bad DSN, unreachable database, a migration that fails) is one line on stderr.
 */
export async function runMigrateSql(opts: MigrateSqlOptions, io: MigrateIo = PROCESS_IO): Promise<number> {
  let store: Store | undefined
  try {
    // Loaded here: the store drivers are only needed by this verb.
    const { openStore } = await import('../token-server/store/open.js')
    store = openStore(resolveDsn(opts, io.env))
    const { applied } = await store.migrationStatus()
    // Counted from the status, in order: a database's applied migrations are always a prefix.
    const pending = MIGRATIONS[store.kind].slice(applied)
    if (pending.length === 0) {
      io.stdout.write('Database is up to date\n')
      return 0
    }
    io.stdout.write(`${plural(pending.length)} pending:\n`)
    for (const m of pending) io.stdout.write(`  ${m.version}  ${m.name}\n`)
    if (!opts.yes) {
      if (io.stdin.isTTY !== true) {
        throw new MigrateError('refusing to apply migrations without confirmation: stdin is not a terminal; pass --yes')
      }
      if (!(await confirm(io, `Apply ${plural(pending.length)}? [y/N] `))) {
        io.stderr.write('Aborted: no migrations applied\n')
        return 1
      }
    }
    // Another process may have applied some meanwhile; report what this run did.
    const done = await store.migrate()
    io.stdout.write(done === 0 ? 'Database is up to date\n' : `Applied ${plural(done)}\n`)
    return 0
  } catch (err) {
    io.stderr.write(`error: ${oneLine(err)}\n`)
    return 1
  } finally {
    await store?.close().catch(() => undefined)
  }
}

function resolveDsn(opts: MigrateSqlOptions, env: NodeJS.ProcessEnv): string {
  if (opts.readFromEnv) {
    if (opts.dsn !== undefined) throw new MigrateError('give the DSN either as an argument or with -e (from the DSN environment variable), not both')
    const dsn = env.DSN ?? ''
    if (dsn.trim() === '') throw new MigrateError('-e was given but the environment variable DSN is not set')
    return dsn
  }
  if (opts.dsn === undefined || opts.dsn.trim() === '') {
    throw new MigrateError('no DSN given: pass it as an argument, or set the environment variable DSN and pass -e')
  }
  return opts.dsn
}

/** Asks on the terminal; anything but y/yes, or the input ending (Ctrl-D), is no. */
function confirm(io: MigrateIo, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin, output: io.stdout, terminal: false })
  return new Promise<boolean>((resolve) => {
    rl.once('close', () => resolve(false))
    rl.question(question, (answer) => {
      resolve(/^y(es)?$/i.test(answer.trim()))
      rl.close()
    })
  })
}

function plural(n: number): string {
  return `${n} migration${n === 1 ? '' : 's'}`
}

/** The error's message on one line (a ConfigError may list several problems). */
function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.replace(/\s*\n\s*/g, '; ')
}

/**
 * `sql [DSN]`, mounted under `gatehouse token-server migrate`. Sets process.exitCode rather than
 * exiting, so output is flushed and the store closed before the process ends.
 */
export function migrateCommand(io: MigrateIo = PROCESS_IO): Command {
  return new Command('sql')
    .description('create the token server schema or bring it up to date (as `hydra migrate sql`); back up the database first')
    .argument('[dsn]', 'database DSN: postgres://user:password@host:5432/db?sslmode=disable or sqlite://./data/gatehouse.sqlite')
    .option('-e, --read-from-env', 'read the DSN from the environment variable DSN', false)
    .option('-y, --yes', 'apply without asking for confirmation', false)
    .action(async (dsn: string | undefined, opts: { readFromEnv: boolean; yes: boolean }) => {
      process.exitCode = await runMigrateSql({ dsn, readFromEnv: opts.readFromEnv, yes: opts.yes }, io)
    })
}
