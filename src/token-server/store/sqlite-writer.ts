import { Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'
import type { SqliteConnectionOptions } from './sqlite-open.js'
import { fromFailure, SqliteWriteExecutor, type SqliteWrite, type WriteFailure, type WriteResult } from './sqlite-writes.js'
import { StoreUnavailableError } from './types.js'

/** Where the SQLite store's writes run. Writes run one at a time, in the order submitted. */
export interface SqliteWriter {
  /** Resolves once the write is committed (and, with synchronous=FULL, synced). */
  submit<W extends SqliteWrite>(w: W): Promise<WriteResult<W>>
  /** The schema changed under the writer (migrate, rollback): recompile its statements. */
  schemaChanged(): void
  /** Finishes the writes submitted so far, then closes the writer's connection. */
  close(): Promise<void>
}

/** What the store sends its writer thread, and what comes back. */
export type WriterRequest = { readonly id: number; readonly write: SqliteWrite } | { readonly close: true }
export type WriterReply = { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: WriteFailure }
/** The writer thread's workerData. */
export interface WriterData {
  readonly file: string
  readonly options: SqliteConnectionOptions
}

/**
 * Writes on the store's own connection, on the event loop. For a database no second connection
 * can open (`:memory:`) or share while one writes (a file that could not be put in WAL mode).
 */
export class InlineWriter implements SqliteWriter {
  readonly #exec: SqliteWriteExecutor

  constructor(db: Database.Database) {
    this.#exec = new SqliteWriteExecutor(db)
  }

  async submit<W extends SqliteWrite>(w: W): Promise<WriteResult<W>> {
    return this.#exec.apply(w)
  }

  schemaChanged(): void {
    this.#exec.apply({ op: 'recompile' })
  }

  async close(): Promise<void> {}
}

interface Pending {
  resolve(value: unknown): void
  reject(err: unknown): void
}

/**
 * Writes on a connection of their own in a worker thread (sqlite-writer-thread.ts).
 *
 * better-sqlite3 is synchronous: on the event loop, a commit with synchronous=FULL held every
 * request (introspections included) for as long as the fsync took, and every ~1000 WAL pages
 * the commit also ran a checkpoint (page copies and two more fsyncs); a write waiting for
 * another process's lock held it for up to the busy timeout. Here only this thread waits. A
 * write still resolves only once committed, so a 200 from the token endpoint still means
 * durable. Reads stay on the loop's connection: in WAL mode a reader never waits for the writer
 * and sees every commit that resolved before it began.
 *
 * The thread starts with the first write, and is unref'd while no write is pending, so an idle
 * store does not keep a CLI verb's process alive.
 */
export class ThreadWriter implements SqliteWriter {
  #worker: Worker | undefined
  /** Settles when the thread has ended, however it ended: close() may come after a thread that already died. */
  #exited: Promise<void> = Promise.resolve()
  readonly #pending = new Map<number, Pending>()
  #nextId = 0
  /** Set once the thread failed or close() began: every later write gets it. */
  #failure: Error | undefined
  /** While close() waits for the thread to end, it stays ref'd. */
  #closing = false

  constructor(private readonly data: WriterData) {}

  submit<W extends SqliteWrite>(w: W): Promise<WriteResult<W>> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    const worker = (this.#worker ??= this.#start())
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) worker.ref()
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      worker.postMessage({ id, write: w } satisfies WriterRequest)
    })
  }

  schemaChanged(): void {
    // A thread not started yet compiles against the new schema anyway.
    if (this.#worker !== undefined) void this.submit({ op: 'recompile' }).catch(() => {})
  }

  async close(): Promise<void> {
    this.#failure ??= new StoreUnavailableError('the SQLite store is closed')
    const worker = this.#worker
    if (worker === undefined || this.#closing) return
    // The thread handles messages in order: the writes submitted before this one finish first.
    this.#closing = true
    worker.ref()
    worker.postMessage({ close: true } satisfies WriterRequest)
    await this.#exited
  }

  #start(): Worker {
    const worker = new Worker(new URL('./sqlite-writer-thread.js', import.meta.url), { workerData: this.data })
    worker.unref()
    // Listened for from the start: a thread that failed to open its file may exit before close().
    // Not events.once, which rejects on an 'error' event: a failed thread emits 'error', then 'exit'.
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()))
    worker.on('message', (reply: WriterReply) => this.#settle(reply))
    worker.on('error', (err) => this.#fail(err))
    worker.on('exit', (code) => this.#fail(new Error(`exited with code ${code}`)))
    return worker
  }

  #settle(reply: WriterReply): void {
    const pending = this.#pending.get(reply.id)
    if (pending === undefined) return
    this.#pending.delete(reply.id)
    if (this.#pending.size === 0 && !this.#closing) this.#worker?.unref()
    if ('error' in reply) pending.reject(fromFailure(reply.error))
    else pending.resolve(reply.result)
  }

  /** The thread is gone: what it had not answered, and every later write, fail as unavailable. */
  #fail(err: Error): void {
    this.#failure ??= new StoreUnavailableError(`the SQLite writer thread of "${this.data.file}" failed: ${err.message}`, { cause: err })
    for (const pending of this.#pending.values()) pending.reject(this.#failure)
    this.#pending.clear()
  }
}
