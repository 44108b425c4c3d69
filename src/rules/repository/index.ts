import { ConfigError } from '../../errors.js'
import { FileRepository } from './file.js'
import { HttpRepository } from './http.js'
import { InlineRepository } from './inline.js'

/** One source as a repository sees it on a scan: its text, or why it could not be read. */
export type SourceRead =
  | { readonly source: string; readonly text: string }
  | {
      readonly source: string
      readonly error: string
      /**
       * The repository itself could not be listed (e.g. its directory is gone): the sources it
       * had keep their rules and are reported broken, instead of being taken as removed.
       */
      readonly unavailable?: boolean
    }

/**
 * Where rule documents come from. A repository yields 1..n sources; the loader decides what
 * changed by comparing content, so a repository may report changes spuriously but must not
 * miss one.
 */
export interface Repository {
  /** The URL as configured, for status and logs. */
  readonly url: string
  /** The repository's sources now, in a stable order, with their text or an error. Never rejects. */
  scan(): Promise<SourceRead[]>
  /** Starts noticing changes (file watching, http polling); resolves once that is in place. */
  watch(onChange: () => void): Promise<void>
  close(): Promise<void>
}

export interface RepositoryOptions {
  /** Base for plain relative paths. */
  readonly cwd: string
  /** How often http(s) repositories are re-fetched; 0 disables polling. */
  readonly pollIntervalMs: number
  /** Bound on one http(s) fetch. */
  readonly fetchTimeoutMs?: number
}

/**
 * Opens a repository from an `access_rules.repositories` entry: `file:///abs/path`, a plain path
 * (relative to cwd; a file or a directory), `inline://<base64>` or `http(s)://…`. Opening does no
 * I/O: a missing path is reported by scan() as a source error, not here.
 * @throws ConfigError for an unsupported scheme or a malformed URL.
 */
export function openRepository(url: string, index: number, opts: RepositoryOptions): Repository {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase()
  switch (scheme) {
    case undefined:
      return FileRepository.fromPath(url, opts.cwd)
    case 'file':
      return FileRepository.fromFileUrl(url, opts.cwd)
    case 'inline':
      return new InlineRepository(url, index)
    case 'http':
    case 'https':
      return new HttpRepository(url, { pollIntervalMs: opts.pollIntervalMs, timeoutMs: opts.fetchTimeoutMs ?? 10_000 })
    default:
      throw new ConfigError(
        `access_rules.repositories[${index}]: unsupported repository scheme "${scheme}://" (supported: file://, inline://, http://, https:// and plain paths)`,
      )
  }
}
