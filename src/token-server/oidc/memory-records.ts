import type { ConsumeResult, OidcModel, OidcRecord, OidcRecords, OidcSelector } from './records.js'
import { selectorFields } from './selector.js'

const key = (model: OidcModel, id: string): string => `${model}\u0000${id}`

function matches(r: OidcRecord, s: OidcSelector): boolean {
  return (
    (s.subject === undefined || r.subject === s.subject) &&
    (s.client_id === undefined || r.client_id === s.client_id) &&
    (s.sid === undefined || r.sid === s.sid) &&
    (s.grant_id === undefined || r.grant_id === s.grant_id)
  )
}

/**
 * The memory store's OIDC records (`dsn: memory`). Single-threaded, so consume is atomic by
 * construction. Bulk selections scan: the memory store is for tests and trying things out.
 */
export class MemoryOidcRecords implements OidcRecords {
  readonly #records = new Map<string, OidcRecord>()

  async upsert(record: OidcRecord): Promise<void> {
    const k = key(record.model, record.id)
    // Re-insert so that Map order stays insertion (oldest first) order for findBy.
    this.#records.delete(k)
    this.#records.set(k, { ...record })
  }

  async find(model: OidcModel, id: string, now: number): Promise<OidcRecord | undefined> {
    const r = this.#records.get(key(model, id))
    return r === undefined || r.expires_at <= now ? undefined : r
  }

  async consume(model: OidcModel, id: string, now: number): Promise<ConsumeResult> {
    const k = key(model, id)
    const r = this.#records.get(k)
    if (r === undefined || r.expires_at <= now) return { status: 'missing' }
    if (r.consumed_at !== undefined) return { status: 'again', record: r }
    const consumed: OidcRecord = { ...r, consumed_at: now }
    this.#records.set(k, consumed)
    return { status: 'first', record: consumed }
  }

  async destroy(model: OidcModel, id: string): Promise<boolean> {
    return this.#records.delete(key(model, id))
  }

  async findBy(model: OidcModel, selector: OidcSelector, now: number): Promise<OidcRecord[]> {
    selectorFields(selector)
    return [...this.#records.values()].filter((r) => r.model === model && r.expires_at > now && matches(r, selector))
  }

  async destroyBy(model: OidcModel, selector: OidcSelector): Promise<OidcRecord[]> {
    selectorFields(selector)
    const out: OidcRecord[] = []
    for (const [k, r] of this.#records) {
      if (r.model === model && matches(r, selector)) {
        this.#records.delete(k)
        out.push(r)
      }
    }
    return out
  }

  async revokeByGrantId(grantId: string): Promise<number> {
    let n = 0
    for (const [k, r] of this.#records) {
      if (r.grant_id === grantId) {
        this.#records.delete(k)
        n++
      }
    }
    return n
  }

  /** Deletes every record, of any model, of one client (the store's deleteClient); returns how many. */
  destroyOfClient(clientId: string): number {
    let n = 0
    for (const [k, r] of this.#records) {
      if (r.client_id === clientId) {
        this.#records.delete(k)
        n++
      }
    }
    return n
  }

  async purgeExpired(now: number, limit: number): Promise<number> {
    let n = 0
    for (const [k, r] of this.#records) {
      if (n >= limit) break
      if (r.expires_at <= now) {
        this.#records.delete(k)
        n++
      }
    }
    return n
  }
}
