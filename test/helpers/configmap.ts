import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * A directory laid out and updated the way the kubelet keeps a ConfigMap volume (its
 * AtomicWriter), with real symlinks:
 *
 *     ..2024_05_01_10_00_00.000000001/access-rules.json   the data of one version
 *     ..data -> ..2024_05_01_10_00_00.000000001             the version in force
 *     access-rules.json -> ..data/access-rules.json         what the pod sees
 *
 * An update writes a new timestamped directory, points a `..data_tmp` symlink at it and renames
 * that over `..data` (the one atomic step), adds links for new keys, removes links of keys that
 * are gone, then deletes the previous version's directory.
 */
export class ConfigMapVolume {
  #version = 0
  #current: string | undefined

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true })
  }

  /** Replaces the whole data of the ConfigMap (key → content), as `kubectl apply` of a new version does. */
  update(data: Readonly<Record<string, string>>): void {
    const ts = `..2024_05_01_10_00_${String(this.#version++).padStart(2, '0')}.${String(process.pid).padStart(9, '0')}`
    mkdirSync(join(this.dir, ts))
    for (const [key, content] of Object.entries(data)) writeFileSync(join(this.dir, ts, key), content)
    symlinkSync(ts, join(this.dir, '..data_tmp'))
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'))
    for (const key of Object.keys(data)) {
      if (!existsSync(join(this.dir, key))) symlinkSync(join('..data', key), join(this.dir, key))
    }
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith('..') || Object.hasOwn(data, name)) continue
      if (lstatSync(join(this.dir, name)).isSymbolicLink()) rmSync(join(this.dir, name))
    }
    if (this.#current !== undefined) rmSync(join(this.dir, this.#current), { recursive: true })
    this.#current = ts
  }
}
