import type { ConsumeResult, OidcModel, OidcRecord, OidcRecords, OidcSelector } from '../oidc/records.js'
import { selectorFields } from '../oidc/selector.js'
import { oidcFromRow, oidcParams, selectorParams, type SqliteOidcStatements } from './sqlite-oidc-statements.js'
import type { SqliteWrite, WriteResult } from './sqlite-writes.js'

/** What the SQLite store lends its OIDC records: its two ways to the database. */
export interface SqliteOidcDeps {
  /** Runs a read on the event loop's connection (the store's failure mapping applies). */
  read<T>(work: (q: SqliteOidcStatements) => T): Promise<T>
  /** Hands a write to the store's writer (thread or inline), in order with the store's other writes. */
  write<W extends SqliteWrite>(w: W): Promise<WriteResult<W>>
}

/**
 * The SQLite store's OIDC records (`Store.oidc`), in gatehouse_oidc_records (migration 5).
 * Writes go through the store's writer like every other write, so each resolves once committed
 * and synced, and none runs on a second connection from the event loop; reads run on the loop's
 * connection, which in WAL mode sees every commit that resolved before the read began.
 */
export class SqliteOidcRecords implements OidcRecords {
  constructor(private readonly deps: SqliteOidcDeps) {}

  async upsert(record: OidcRecord): Promise<void> {
    await this.deps.write({ op: 'oidcUpsert', params: oidcParams(record) })
  }

  find(model: OidcModel, id: string, now: number): Promise<OidcRecord | undefined> {
    return this.deps.read((q) => {
      const row = q.find.get(model, id, now)
      return row === undefined ? undefined : oidcFromRow(row)
    })
  }

  async consume(model: OidcModel, id: string, now: number): Promise<ConsumeResult> {
    // On the writer, in one IMMEDIATE transaction: the conditional UPDATE, then (when it matched
    // nothing) the read that tells a replay from a missing record, under the same lock.
    const consumed = await this.deps.write({ op: 'oidcConsume', model, id, now })
    if (consumed === null) return { status: 'missing' }
    return { status: consumed.first ? 'first' : 'again', record: oidcFromRow(consumed.row) }
  }

  async destroy(model: OidcModel, id: string): Promise<boolean> {
    return (await this.deps.write({ op: 'oidcDestroy', model, id })) > 0
  }

  async findBy(model: OidcModel, selector: OidcSelector, now: number): Promise<OidcRecord[]> {
    // async: a selector without a field rejects, as in the other stores, rather than throwing.
    const params = { ...selectorParams(model, selector), now }
    return this.deps.read((q) => q.findBy(selector).all(params).map(oidcFromRow))
  }

  async destroyBy(model: OidcModel, selector: OidcSelector): Promise<OidcRecord[]> {
    // Checked here, so a selector without a field fails in the caller before a write is queued;
    // and only the selector's own fields cross to the writer thread.
    const plain: OidcSelector = Object.fromEntries(selectorFields(selector).map((f) => [f, selector[f]]))
    return (await this.deps.write({ op: 'oidcDestroyBy', model, selector: plain })).map(oidcFromRow)
  }

  revokeByGrantId(grantId: string): Promise<number> {
    return this.deps.write({ op: 'oidcRevokeGrant', grantId })
  }

  purgeExpired(now: number, limit: number): Promise<number> {
    return this.deps.write({ op: 'oidcPurge', now, limit })
  }
}
