/**
 * One schema change. Versions start at 1 and grow by one; a database records each applied
 * version in `gatehouse_migrations`, so the count of rows there is how far its schema stands.
 * A migration is never edited once released: a change to the schema is a new migration.
 */
export interface Migration {
  readonly version: number
  /** snake_case, shown by `migrate sql` before it applies anything. */
  readonly name: string
  /** The SQL to run, possibly several statements; runs inside one transaction. */
  readonly up: string
  /** The SQL that undoes `up` (`migrate sql down`); also one transaction. */
  readonly down: string
}

/** The migrations of `all` not yet applied, in order; `applied` holds the applied versions. */
export function pendingMigrations(all: readonly Migration[], applied: ReadonlySet<number>): Migration[] {
  return all.filter((m) => !applied.has(m.version))
}
