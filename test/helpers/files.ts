import { renameSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

/**
 * Writes `text` to `path` the way a deploy should: into a hidden file beside it, then a rename.
 * writeFileSync truncates first and writes after; on a busy machine the gateway's watcher can
 * read the file in between and see a half-written (broken) rule file, which is counted and
 * logged as a reload error. Tests that count reloads or errors must not see that in-between.
 */
export function writeAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp`)
  writeFileSync(tmp, text)
  renameSync(tmp, path)
}
