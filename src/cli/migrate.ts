import { Command, Option } from 'commander'
import { parseFormat, TABLE, type Format } from './hydra/output.js'
import { PROCESS_IO, runMigrateDown, runMigrateSql, runMigrateStatus, type MigrateIo } from './migrate-run.js'

export { runMigrateDown, runMigrateSql, runMigrateStatus } from './migrate-run.js'
export type { DsnOptions, MigrateDownOptions, MigrateIo, MigrateSqlOptions, MigrateStatusOptions } from './migrate-run.js'

interface DsnFlags {
  readonly readFromEnv?: boolean
  readonly yes?: boolean
}

/**
 * Hydra's DSN flags. `-e` and `--yes` may stand before or after a sub-verb (`migrate sql -e up`,
 * `migrate sql up -e`), as cobra's persistent flags can, so sub-verbs read them merged with
 * their parent's.
 */
function dsnVerb(name: string, description: string, yes: boolean): Command {
  const c = new Command(name)
    .description(description)
    .argument('[dsn]', 'database DSN: postgres://user:password@host:5432/db?sslmode=disable or sqlite://./data/gatehouse.sqlite')
    .option('-e, --read-from-env', 'read the DSN from the environment variable DSN', false)
  return yes ? c.option('-y, --yes', 'go ahead without asking for confirmation', false) : c
}

const merged = (cmd: Command): DsnFlags => cmd.optsWithGlobals<DsnFlags>()

function statusVerb(io: MigrateIo, name: string, description: string): Command {
  return dsnVerb(name, description, false)
    .addOption(new Option('--format <format>', 'output format: table, json, json-pretty, yaml, jsonpath=<path>, jsonpointer=<pointer>').argParser(parseFormat).default(TABLE, 'table'))
    .option('--block', 'wait until every migration has been applied', false)
    .action(async (dsn: string | undefined, opts: { format: Format; block: boolean }, cmd: Command) => {
      process.exitCode = await runMigrateStatus({ dsn, readFromEnv: merged(cmd).readFromEnv === true, format: opts.format, block: opts.block }, io)
    })
}

/**
 * `sql [DSN]` with Hydra 2.x's sub-verbs `up`, `down` and `status`. `sql DSN` without a sub-verb
 * still applies the migrations (Hydra keeps it, deprecated): a first argument that is not a
 * sub-verb's name is the DSN. Actions set process.exitCode rather than exiting, so output is
 * flushed and the store closed before the process ends.
 */
export function migrateSqlCommand(io: MigrateIo = PROCESS_IO): Command {
  const up = dsnVerb('up', 'apply every pending migration (back up the database first)', true).action(
    async (dsn: string | undefined, _opts: unknown, cmd: Command) => {
      const f = merged(cmd)
      process.exitCode = await runMigrateSql({ dsn, readFromEnv: f.readFromEnv === true, yes: f.yes === true }, io)
    },
  )
  const down = dsnVerb('down', 'roll back the newest --steps migrations, dropping their tables and data (back up first)', true)
    .option('--steps <n>', 'how many of the newest applied migrations to roll back', (v) => (/^\d+$/.test(v) ? Number(v) : Number.NaN), 0)
    .action(async (dsn: string | undefined, opts: { steps: number }, cmd: Command) => {
      const f = merged(cmd)
      process.exitCode = await runMigrateDown({ dsn, readFromEnv: f.readFromEnv === true, yes: f.yes === true, steps: opts.steps }, io)
    })
  return dsnVerb('sql', 'create the token server schema or bring it up to date (as `hydra migrate sql`); `sql DSN` = `sql up DSN`', true)
    .addCommand(up)
    .addCommand(down)
    .addCommand(statusVerb(io, 'status', 'show which migrations are applied and which are pending'))
    .action(async (dsn: string | undefined, opts: { readFromEnv: boolean; yes: boolean }) => {
      process.exitCode = await runMigrateSql({ dsn, readFromEnv: opts.readFromEnv, yes: opts.yes }, io)
    })
}

/** `migrate sql …` and Hydra's older `migrate status`, mounted as `gatehouse migrate` and `gatehouse token-server migrate`. */
export function migrateCommand(io: MigrateIo = PROCESS_IO): Command {
  return new Command('migrate')
    .description('database migrations of the token server')
    .addCommand(migrateSqlCommand(io))
    .addCommand(statusVerb(io, 'status', 'show the migration status (as `migrate sql status`)'))
}
