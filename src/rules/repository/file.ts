import { readdir, readFile, realpath, stat } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { watch, type FSWatcher } from 'chokidar'
import { ConfigError } from '../../errors.js'
import type { Repository, SourceRead } from './index.js'

const RULE_FILE = /\.(json|ya?ml)$/i
/**
 * Test cases kept beside the rules (`gatehouse rules test`): read by that command, never loaded
 * as rules, so a rules directory can hold both.
 */
export const RULE_TEST_FILE = /\.test\.ya?ml$/i

/**
 * A rule file, or a directory whose *.json / *.yaml / *.yml files (recursively, sorted by path)
 * are one source each. Entries starting with a dot are skipped, which leaves out editor temp
 * files and the `..2024_xx` / `..data` internals of a Kubernetes ConfigMap mount while still
 * following its top-level `rules.yml -> ..data/rules.yml` links.
 *
 * Watching is deliberately coarse: any event that may concern the repository makes the loader
 * re-scan it and compare content. That is what makes writes via rename, deleted and recreated
 * files and ConfigMap symlink swaps (where no watched file "changes") all work the same way.
 */
export class FileRepository implements Repository {
  #watcher: FSWatcher | undefined

  private constructor(
    readonly url: string,
    /** The path as shown in source names: as configured, so errors read like the config. */
    private readonly display: string,
    private readonly abs: string,
  ) {}

  static fromPath(path: string, cwd: string): FileRepository {
    return new FileRepository(path, path, resolve(cwd, path))
  }

  /** `file:///abs/path`; `file://./rel` and `file://rel` are taken as relative to cwd. */
  static fromFileUrl(url: string, cwd: string): FileRepository {
    const rest = url.slice('file://'.length)
    if (!rest.startsWith('/')) return new FileRepository(url, rest, resolve(cwd, decodeURIComponent(rest)))
    try {
      const abs = fileURLToPath(url)
      return new FileRepository(url, abs, abs)
    } catch (err) {
      throw new ConfigError(`invalid file repository URL "${url}": ${(err as Error).message}`)
    }
  }

  async scan(): Promise<SourceRead[]> {
    let isDir: boolean
    try {
      isDir = (await stat(this.abs)).isDirectory()
    } catch (err) {
      return [{ source: this.display, error: `${this.display}: ${reason(err)}`, unavailable: true }]
    }
    if (!isDir) return [await this.#read(this.abs, this.display)]
    let files: string[]
    try {
      files = await listRuleFiles(this.abs)
    } catch (err) {
      return [{ source: this.display, error: `${this.display}: ${reason(err)}`, unavailable: true }]
    }
    const reads = await Promise.all(files.map((rel) => this.#read(join(this.abs, rel), join(this.display, rel))))
    // A file removed between listing and reading is simply gone, not broken.
    return reads.filter((r) => !('error' in r && r.error === GONE))
  }

  async #read(path: string, source: string): Promise<SourceRead> {
    try {
      return { source, text: await readFile(path, 'utf8') }
    } catch (err) {
      if (path !== this.abs && (err as NodeJS.ErrnoException).code === 'ENOENT') return { source, error: GONE }
      return { source, error: `${source}: ${reason(err)}` }
    }
  }

  /**
   * Watches the parent directory rather than the path itself: that sees the path being created,
   * deleted, recreated or renamed over (chokidar loses a watch on a path that does not exist yet).
   */
  async watch(onChange: () => void): Promise<void> {
    if (this.#watcher !== undefined) return
    const parent = dirname(this.abs)
    const ignored = (p: string): boolean => !this.#concerns(p)
    const watcher = watch(parent, { ignoreInitial: true, followSymlinks: true, ignored })
    this.#watcher = watcher
    watcher.on('all', () => onChange())
    // Raw events catch what chokidar's own diffing can hide, e.g. `..data` replaced by a rename.
    watcher.on('raw', (_event, path, details) => {
      const dir = (details as { watchedPath?: string }).watchedPath
      if (dir !== undefined && path !== '' && this.#concerns(join(dir, path))) onChange()
    })
    watcher.on('error', () => onChange())
    await new Promise<void>((done) => watcher.once('ready', done))
  }

  async close(): Promise<void> {
    await this.#watcher?.close()
    this.#watcher = undefined
  }

  /**
   * Whether an event at `p` may change what scan() returns: the parent itself, the path, its
   * dot-named siblings (a ConfigMap's `..data` swap) and anything below the path except the
   * contents of dot-directories (whose own creation and removal still count).
   */
  #concerns(p: string): boolean {
    const parent = dirname(this.abs)
    if (p === parent || p === this.abs) return true
    if (dirname(p) === parent) return basename(p).startsWith('..')
    if (!p.startsWith(this.abs + sep)) return false
    const parts = relative(this.abs, p).split(sep)
    return parts.slice(0, -1).every((part) => !part.startsWith('.'))
  }
}

/** Marks a file that vanished between listing and reading. */
const GONE = '\0gone'

/** Rule files under `root`, relative to it, sorted; follows symlinks, skips dot-entries. */
async function listRuleFiles(root: string): Promise<string[]> {
  const out: string[] = []
  const visited = new Set<string>()
  const walk = async (dir: string, rel: string): Promise<void> => {
    // A symlink loop would otherwise recurse forever.
    const real = await realpath(dir)
    if (visited.has(real)) return
    visited.add(real)
    const entries = await readdir(dir, { withFileTypes: true })
    for (const e of entries) {
      if (e.name.startsWith('.')) continue
      const full = join(dir, e.name)
      let isDir = e.isDirectory()
      let isFile = e.isFile()
      if (e.isSymbolicLink()) {
        const s = await stat(full).catch(() => undefined) // dangling links are skipped
        isDir = s?.isDirectory() ?? false
        isFile = s?.isFile() ?? false
      }
      if (isDir) await walk(full, join(rel, e.name))
      else if (isFile && RULE_FILE.test(e.name) && !RULE_TEST_FILE.test(e.name)) out.push(join(rel, e.name))
    }
  }
  await walk(root, '')
  // Plain code-unit order, not locale order: the same on every machine.
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory'
    case 'EACCES':
      return 'permission denied'
    default:
      return e.message ?? String(err)
  }
}
