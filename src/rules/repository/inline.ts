import type { Repository, SourceRead } from './index.js'

/**
 * `inline://<base64>`: rules embedded in the config (base64 of a JSON or YAML document, standard
 * or URL-safe alphabet). Never changes, so there is nothing to watch.
 */
export class InlineRepository implements Repository {
  /** Shortened: the whole blob would flood status output and logs. */
  readonly url: string
  readonly #source: string
  readonly #text: string

  constructor(url: string, index: number) {
    const blob = url.slice('inline://'.length)
    this.url = blob.length > 24 ? `inline://${blob.slice(0, 24)}…` : url
    // Named after its config key: the URL itself is an unreadable blob.
    this.#source = `access_rules.repositories[${index}] (inline)`
    this.#text = Buffer.from(blob, 'base64').toString('utf8')
  }

  scan(): Promise<SourceRead[]> {
    return Promise.resolve([{ source: this.#source, text: this.#text }])
  }

  watch(): Promise<void> {
    return Promise.resolve()
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}
