import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import { ConfigError } from '../errors.js'
import { parseRuleDocument } from './parse.js'
import { openRepository, type Repository, type SourceRead } from './repository/index.js'
import type { RuleSpec } from './types.js'

/** One rule document as the rules/status API shows it. */
export interface SourceStatus {
  readonly source: string
  readonly repository: string
  /** ISO time of the last successful load; null when it never loaded. */
  readonly loadedAt: string | null
  /** Why the last attempt failed (file and reason); null when the source is good. */
  readonly error: string | null
  /** Rules the source contributes now (its last good ones). */
  readonly rules: number
}

export interface LoadedRules<R> {
  readonly rules: readonly R[]
  readonly version: number
}

export interface RuleLoaderOptions<R> {
  readonly repositories: readonly string[]
  /** Re-fetch period of http(s) repositories; 0 fetches them only at start. */
  readonly pollIntervalMs: number
  /** Compiles one rule; throws ConfigError (or any Error) when the rule is invalid. Load time only. */
  readonly compile: (spec: RuleSpec, source: string) => R
  /** Called with every new complete set; the caller swaps it in atomically. */
  readonly onUpdate: (set: LoadedRules<R>) => void
  /**
   * Called on every failed load of a source (again on each retry while it stays broken), and
   * with source '' when a rebuild failed as a whole; for metrics.
   */
  readonly onLoadError?: (source: string, error: string) => void
  /**
   * Called after every rebuild, whether it published a set or not: the moment when the compiled
   * rules the loader holds (see held) are all there is, e.g. to drop what no rule uses any more.
   */
  readonly onRebuilt?: () => void
  readonly logger: Logger
  readonly cwd?: string
  /** Watch files and poll http(s) repositories (default true). */
  readonly watch?: boolean
  /** Quiet time after a change before reloading, so a burst of events reloads once (default 75). */
  readonly debounceMs?: number
}

interface SourceState<R> {
  readonly key: string
  readonly source: string
  readonly repo: number
  order: number
  /** Hash of the text last processed; null after a read error, so the next text is processed. */
  hash: string | null
  rules: readonly R[]
  loadedAt: string | null
  error: string | null
  /** Compiled rules held back because another source has one of their ids; retried on each rebuild. */
  blocked: readonly R[] | null
}

/** A burst of events never delays a reload longer than this. */
const MAX_DEBOUNCE_WAIT_MS = 1000

/**
 * Loads rules from repositories and keeps them current. Each source keeps its last good rules:
 * a change that breaks a source (bad YAML, schema or compile error, an id another source has)
 * leaves its previous rules in force and is reported in status() and the log. Reloads are
 * debounced and serialized: never two rebuilds at once, and a change during one triggers exactly
 * one more. Every published set is complete and free of duplicate ids.
 */
export class RuleLoader<R extends { readonly id: string }> {
  readonly #opts: RuleLoaderOptions<R>
  readonly #repos: readonly Repository[]
  readonly #states = new Map<string, SourceState<R>>()
  readonly #pending = new Set<number>()
  #waiters: (() => void)[] = []
  #timer: NodeJS.Timeout | undefined
  #burstStart = 0
  #running: Promise<void> | undefined
  #version = 0
  #started = false
  #closed = false

  /** @throws ConfigError naming every repository URL that cannot be used at all (e.g. s3://). */
  constructor(opts: RuleLoaderOptions<R>) {
    this.#opts = opts
    const problems: string[] = []
    const repoOpts = { cwd: opts.cwd ?? process.cwd(), pollIntervalMs: opts.pollIntervalMs }
    const repos = opts.repositories.map((url, i) => {
      try {
        return openRepository(url, i, repoOpts)
      } catch (err) {
        problems.push((err as Error).message)
        return undefined
      }
    })
    if (problems.length > 0) throw new ConfigError('invalid access rule repositories', problems)
    this.#repos = repos as Repository[]
  }

  /** Loads every source once and publishes the first set (broken sources contribute nothing yet). */
  async start(): Promise<void> {
    if (this.#started) throw new Error('RuleLoader.start() called twice')
    this.#started = true
    // Watch before the first scan: a change made while scanning then triggers a reload.
    if (this.#opts.watch !== false) {
      await Promise.all(this.#repos.map((r, i) => r.watch(() => this.#schedule(i))))
    }
    this.#repos.forEach((_, i) => this.#pending.add(i))
    this.#kick()
    await this.#running
  }

  status(): SourceStatus[] {
    return this.#ordered().map((s) => ({
      source: s.source,
      repository: this.#repos[s.repo]!.url,
      loadedAt: s.loadedAt,
      error: s.error,
      rules: s.rules.length,
    }))
  }

  /**
   * Every compiled rule the loader holds: those in force, and those held back (an id taken by
   * another source) that a later rebuild may take in without compiling them again.
   */
  held(): R[] {
    const out: R[] = []
    for (const s of this.#states.values()) out.push(...s.rules, ...(s.blocked ?? []))
    return out
  }

  /** Resolves once no reload is pending or running. */
  async settled(): Promise<void> {
    while (!this.#closed && (this.#timer !== undefined || this.#running !== undefined || this.#pending.size > 0)) {
      await new Promise<void>((r) => this.#waiters.push(r))
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    await Promise.all(this.#repos.map((r) => r.close()))
    await this.#running
    this.#notify()
  }

  #schedule(repo: number): void {
    if (this.#closed) return
    this.#pending.add(repo)
    const now = Date.now()
    if (this.#timer === undefined) this.#burstStart = now
    clearTimeout(this.#timer)
    const delay = Math.min(this.#opts.debounceMs ?? 75, MAX_DEBOUNCE_WAIT_MS - (now - this.#burstStart))
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#kick()
      this.#notify()
    }, Math.max(0, delay))
  }

  /** Starts a rebuild unless one runs; the one running starts the next when it ends. */
  #kick(): void {
    if (this.#closed || this.#running !== undefined || this.#pending.size === 0) return
    const repos = [...this.#pending].sort((a, b) => a - b)
    this.#pending.clear()
    this.#running = this.#rebuild(repos)
      .catch((err: unknown) => {
        this.#opts.onLoadError?.('', err instanceof Error ? err.message : String(err))
        this.#opts.logger.error({ err }, 'access rules reload failed')
      })
      .then(() => this.#opts.onRebuilt?.())
      .catch((err: unknown) => this.#opts.logger.error({ err }, 'cleaning up after an access rules reload failed'))
      .finally(() => {
        this.#running = undefined
        if (this.#timer === undefined) this.#kick()
        this.#notify()
      })
  }

  #notify(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }

  async #rebuild(repos: readonly number[]): Promise<void> {
    // Fetches and reads run in parallel; results are applied in repository order.
    const scans = await Promise.all(repos.map((i) => this.#repos[i]!.scan()))
    if (this.#closed) return
    let changed = this.#version === 0
    const candidates = new Map<string, readonly R[]>()
    repos.forEach((repo, n) => {
      const reads = scans[n]!
      if (this.#unavailable(repo, reads)) return
      const seen = new Set<string>()
      reads.forEach((read, order) => {
        const state = this.#state(repo, read.source)
        seen.add(state.key)
        state.order = order
        const compiled = this.#process(state, read)
        if (compiled !== undefined) candidates.set(state.key, compiled)
      })
      for (const s of this.#states.values()) {
        if (s.repo !== repo || seen.has(s.key)) continue
        // A removed file drops its rules: removing a file is how rules are deleted.
        this.#states.delete(s.key)
        if (s.rules.length > 0) changed = true
        this.#opts.logger.info({ source: s.source }, 'access rule source removed')
      }
    })
    for (const s of this.#states.values()) if (s.blocked !== null && !candidates.has(s.key)) candidates.set(s.key, s.blocked)
    if (this.#adopt(candidates)) changed = true
    if (changed) this.#publish()
  }

  /**
   * A repository that cannot be listed at all keeps its sources' rules: a directory that is
   * briefly gone (or unreadable) is a problem to report, not an instruction to delete rules.
   */
  #unavailable(repo: number, reads: readonly SourceRead[]): boolean {
    const read = reads[0]
    if (reads.length !== 1 || read === undefined || !('error' in read) || read.unavailable !== true) return false
    const others = [...this.#states.values()].filter((s) => s.repo === repo && s.source !== read.source)
    for (const s of others) {
      s.hash = null // reprocess when it is back, which also clears the error
      s.blocked = null
      this.#fail(s, read.error)
    }
    return others.length > 0
  }

  /** Reads → parse → compile. Returns the compiled rules of a changed, valid source. */
  #process(state: SourceState<R>, read: SourceRead): readonly R[] | undefined {
    if ('error' in read) {
      state.hash = null
      state.blocked = null
      this.#fail(state, read.error)
      return undefined
    }
    const hash = createHash('sha256').update(read.text).digest('hex')
    if (hash === state.hash) return undefined
    state.hash = hash
    state.blocked = null
    try {
      return this.#compileSource(read.text, read.source)
    } catch (err) {
      this.#fail(state, err instanceof ConfigError ? err.problems.join('; ') : `${read.source}: ${(err as Error).message}`)
      return undefined
    }
  }

  #compileSource(text: string, source: string): R[] {
    const problems: string[] = []
    const out: R[] = []
    parseRuleDocument(text, source).forEach((spec, i) => {
      try {
        out.push(this.#opts.compile(spec, source))
      } catch (err) {
        const label = `rule "${spec.id}" (#${i + 1})`
        const own = err instanceof ConfigError ? err.problems : [(err as Error).message]
        // The compiler may already name the rule; say it once, with its position.
        for (const p of own) problems.push(`${source}: ${label}: ${p.replace(`rule "${spec.id}": `, '')}`)
      }
    })
    if (problems.length > 0) throw new ConfigError(`${source}: invalid rules`, problems)
    return out
  }

  /**
   * Takes in the candidates whose ids are free. Rules in force keep their ids; among candidates
   * the earlier source (in stable order) wins. A candidate that loses is reported and held back,
   * which can free ids another candidate needs (e.g. two files swapping ids), hence the loop.
   */
  #adopt(candidates: Map<string, readonly R[]>): boolean {
    for (;;) {
      const owner = new Map<string, SourceState<R>>()
      for (const s of this.#states.values()) if (!candidates.has(s.key)) for (const r of s.rules) owner.set(r.id, s)
      let loser: { state: SourceState<R>; problem: string } | undefined
      for (const s of this.#ordered()) {
        const rules = candidates.get(s.key)
        if (rules === undefined) continue
        const taken = rules.filter((r) => owner.has(r.id) && owner.get(r.id) !== s)
        if (taken.length > 0) {
          const problem = taken.map((r) => `${s.source}: rule "${r.id}": id is already used by ${owner.get(r.id)!.source}`).join('; ')
          loser = { state: s, problem }
          break
        }
        for (const r of rules) owner.set(r.id, s)
      }
      if (loser === undefined) break
      loser.state.blocked = candidates.get(loser.state.key)!
      candidates.delete(loser.state.key)
      this.#fail(loser.state, loser.problem)
    }
    const now = new Date().toISOString()
    for (const [key, rules] of candidates) {
      const s = this.#states.get(key)!
      if (s.error !== null) this.#opts.logger.info({ source: s.source, rules: rules.length }, 'access rule source loaded again')
      Object.assign(s, { rules, loadedAt: now, error: null, blocked: null })
    }
    return candidates.size > 0
  }

  #fail(state: SourceState<R>, error: string): void {
    this.#opts.onLoadError?.(state.source, error)
    // Logged when the reason changes, not on every poll of a source that stays broken.
    if (state.error !== error) {
      this.#opts.logger.error(
        { source: state.source, repository: this.#repos[state.repo]!.url, error, keptRules: state.rules.length },
        `access rule source is broken, keeping its last good rules: ${error}`,
      )
    }
    state.error = error
  }

  #publish(): void {
    const rules = Object.freeze(this.#ordered().flatMap((s) => s.rules))
    this.#version++
    try {
      this.#opts.onUpdate({ rules, version: this.#version })
    } catch (err) {
      this.#opts.logger.error({ err, version: this.#version }, 'applying the new access rules failed')
    }
  }

  #state(repo: number, source: string): SourceState<R> {
    const key = `${repo}\0${source}`
    let s = this.#states.get(key)
    if (s === undefined) {
      s = { key, source, repo, order: 0, hash: null, rules: [], loadedAt: null, error: null, blocked: null }
      this.#states.set(key, s)
    }
    return s
  }

  /** Sources in stable order: repository order, then the order the repository lists them in. */
  #ordered(): SourceState<R>[] {
    return [...this.#states.values()].sort((a, b) => a.repo - b.repo || a.order - b.order)
  }
}
