import { createInterface } from 'node:readline'
import { POSTGRES_MIGRATIONS } from '../token-server/store/migrations/postgres.js'
import { SQLITE_MIGRATIONS } from '../token-server/store/migrations/sqlite.js'
import type { Migration } from '../token-server/store/migrations/types.js'
import type { Store } from '../token-server/store/types.js'
import { serialize, type Format } from './hydra/output.js'
import { tabwrite } from './hydra/tabwriter.js'

/** What `migrate sql` reads from and writes to; tests pass their own. */
export interface MigrateIo {
  readonly env: NodeJS.ProcessEnv
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean }
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
}

/** How a migrate verb finds its database: `[DSN]` or `-e`. */
export interface DsnOptions {
  /** The DSN argument, if given. */
  readonly dsn?: string | undefined
  /** `-e`: read the DSN from the environment variable DSN. */
  readonly readFromEnv: boolean
}

export interface MigrateSqlOptions {
  /** The DSN argument, if given. */
  readonly dsn?: string | undefined
  /** `-e`: read the DSN from the environment variable DSN. */
  readonly readFromEnv: boolean
  /** `--yes`: apply without asking. */
  readonly yes: boolean
}

export const PROCESS_IO: MigrateIo = { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }

const MIGRATIONS: Readonly<Record<Store['kind'], readonly Migration[]>> = {
  memory: [],
  sqlite: SQLITE_MIGRATIONS,
  postgres: POSTGRES_MIGRATIONS,
}

/** A problem to report in one line, without a stack trace. */
class MigrateError extends Error {}

/**
 * `migrate sql up [DSN] [-e] [--yes]` as in Hydra: shows the pending migrations and applies them.
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
    if (!(await confirmed(opts.yes, io, `Apply ${plural(pending.length)}?`, 'apply migrations'))) {
      io.stderr.write('Aborted: no migrations applied\n')
      return 1
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

function resolveDsn(opts: DsnOptions, env: NodeJS.ProcessEnv): string {
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

export interface MigrateDownOptions extends DsnOptions {
  /** `--steps`: how many of the newest applied migrations to undo. */
  readonly steps: number
  readonly yes: boolean
}

/**
 * `migrate sql down [DSN] --steps N` as in Hydra: shows the newest N applied migrations and
 * undoes them, newest first, after confirmation. Undoing a migration drops its tables and the
 * data in them: back up first. Returns the exit code.
 */
export async function runMigrateDown(opts: MigrateDownOptions, io: MigrateIo = PROCESS_IO): Promise<number> {
  return withStore(opts, io, async (store) => {
    if (!Number.isInteger(opts.steps) || opts.steps < 1) {
      throw new MigrateError('nothing to roll back: give the number of migrations to undo with --steps, e.g. --steps 1')
    }
    const { applied } = await store.migrationStatus()
    const undo = MIGRATIONS[store.kind].slice(Math.max(0, applied - opts.steps), applied).reverse()
    if (undo.length === 0) {
      io.stdout.write('No migrations to roll back\n')
      return 0
    }
    io.stdout.write(`${plural(undo.length)} to roll back (their tables and data are dropped):\n`)
    for (const m of undo) io.stdout.write(`  ${m.version}  ${m.name}\n`)
    if (!(await confirmed(opts.yes, io, `Roll back ${plural(undo.length)}?`, 'roll back migrations'))) {
      io.stderr.write('Aborted: no migrations rolled back\n')
      return 1
    }
    io.stdout.write(`Rolled back ${plural(await store.rollback(undo.length))}\n`)
    return 0
  })
}

export interface MigrateStatusOptions extends DsnOptions {
  readonly format: Format
  /** `--block`: wait until no migration is pending. */
  readonly block: boolean
  /** How long to wait between checks with --block (Hydra: 1 s). */
  readonly pollMs?: number
}

/**
 * `migrate sql status [DSN]` (and Hydra's older `migrate status`): every migration with its
 * state, in Hydra's table (`Version  Name  Status`, Applied or Pending) or `--format json`.
 * `--block` waits until none is pending, e.g. in an init container. Returns the exit code.
 */
export async function runMigrateStatus(opts: MigrateStatusOptions, io: MigrateIo = PROCESS_IO): Promise<number> {
  return withStore(opts, io, async (store) => {
    let { applied } = await store.migrationStatus()
    const all = MIGRATIONS[store.kind]
    while (opts.block && applied < all.length) {
      io.stdout.write('Waiting for migrations to finish...\n')
      for (const m of all.slice(applied)) io.stdout.write(` - ${m.name}\n`)
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000))
      ;({ applied } = await store.migrationStatus())
    }
    const rows = all.map((m, i) => ({ version: String(m.version), name: m.name, state: i < applied ? 'Applied' : 'Pending' }))
    if (opts.format.kind === 'table') {
      io.stdout.write(tabwrite(`Version\tName\tStatus\t\n${rows.map((r) => `${r.version}\t${r.name}\t${r.state}\t\n`).join('')}`))
    } else io.stdout.write(serialize(rows, opts.format))
    return 0
  })
}

/** Opens the store of the DSN, runs `fn`, closes it; any failure is one line on stderr and exit 1. */
async function withStore(opts: DsnOptions, io: MigrateIo, fn: (store: Store) => Promise<number>): Promise<number> {
  let store: Store | undefined
  try {
    const { openStore } = await import('../token-server/store/open.js')
    store = openStore(resolveDsn(opts, io.env))
    return await fn(store)
  } catch (err) {
    io.stderr.write(`error: ${oneLine(err)}\n`)
    return 1
  } finally {
    await store?.close().catch(() => undefined)
  }
}

/** `--yes`, or a "y" typed on a terminal; without a terminal, an error that says to pass --yes. */
async function confirmed(yes: boolean, io: MigrateIo, question: string, doing: string): Promise<boolean> {
  if (yes) return true
  if (io.stdin.isTTY !== true) throw new MigrateError(`refusing to ${doing} without confirmation: stdin is not a terminal; pass --yes`)
  return confirm(io, `${question} [y/N] `)
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

