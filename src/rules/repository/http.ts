import type { Repository, SourceRead } from './index.js'

export interface HttpRepositoryOptions {
  /** Re-fetch period; 0 fetches only at start. */
  readonly pollIntervalMs: number
  /** Bound on one fetch (connect, headers and body). */
  readonly timeoutMs: number
}

/**
 * An http(s) URL serving one rule document. Fetched at start and then every poll interval with
 * `If-None-Match`, so an unchanged document costs a 304. A failed fetch reports the source as
 * broken; the loader keeps its last good rules.
 */
export class HttpRepository implements Repository {
  /** Without credentials: this is what status and logs show. */
  readonly url: string
  readonly #target: string
  readonly #opts: HttpRepositoryOptions
  #etag: string | undefined
  #text: string | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(url: string, opts: HttpRepositoryOptions) {
    this.#target = url
    this.url = redact(url)
    this.#opts = opts
  }

  async scan(): Promise<SourceRead[]> {
    const headers: Record<string, string> = { accept: 'application/json, application/yaml, text/yaml, */*' }
    if (this.#etag !== undefined && this.#text !== undefined) headers['if-none-match'] = this.#etag
    try {
      const res = await fetch(this.#target, { headers, signal: AbortSignal.timeout(this.#opts.timeoutMs) })
      if (res.status === 304 && this.#text !== undefined) {
        await res.body?.cancel()
        return [{ source: this.url, text: this.#text }]
      }
      if (res.status !== 200) {
        await res.body?.cancel()
        return [{ source: this.url, error: `GET ${this.url}: HTTP ${res.status} ${res.statusText}`.trimEnd() }]
      }
      const text = await res.text()
      this.#text = text
      this.#etag = res.headers.get('etag') ?? undefined
      return [{ source: this.url, text }]
    } catch (err) {
      return [{ source: this.url, error: `GET ${this.url}: ${describe(err)}` }]
    }
  }

  watch(onChange: () => void): Promise<void> {
    if (this.#opts.pollIntervalMs > 0 && this.#timer === undefined) {
      // Unref: polling alone must not keep a process alive that is otherwise done.
      this.#timer = setInterval(onChange, this.#opts.pollIntervalMs).unref()
    }
    return Promise.resolve()
  }

  close(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    return Promise.resolve()
  }
}

/** fetch's own message is "fetch failed"; the reason (ECONNREFUSED, timeout…) is in `cause`. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  if (err.name === 'TimeoutError') return 'timed out'
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : ''
  return `${err.message}${cause}`
}

function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.username === '' && u.password === '') return url
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return url
  }
}
