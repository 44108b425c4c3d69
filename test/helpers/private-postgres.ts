import { execFile } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './faults.js'

const exec = promisify(execFile)

/**
 * A Postgres server of the test's own, in a temp directory on a free port, so a test can stop
 * and start it without touching the machine's shared server (other tests use that one). Runs as
 * the `postgres` user when the test runs as root (Postgres refuses to run as root).
 */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres?sslmode=disable` */
  readonly url: string
  readonly port: number
  start(): Promise<void>
  /** `pg_ctl stop -m fast`: disconnects every client, as a database restart does. */
  stop(): Promise<void>
  /** Stops it if it runs and removes its directory. */
  destroy(): Promise<void>
}

/** The newest installed server's binaries (Debian: /usr/lib/postgresql/<major>/bin). */
function binDir(): string {
  const root = '/usr/lib/postgresql'
  const majors = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'bin', 'initdb'))) : []
  const major = majors.sort((a, b) => Number(b) - Number(a))[0]
  if (major === undefined) throw new Error(`no Postgres server binaries under ${root}`)
  return join(root, major, 'bin')
}

export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir()
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'))
  const data = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    const { stdout } = await exec('id', ['-u', 'postgres'])
    const { stdout: gid } = await exec('id', ['-g', 'postgres'])
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()))
  }
  const run = (cmd: string, args: readonly string[]) =>
    asRoot ? exec('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { timeout: 20_000 }) : exec(join(bin, cmd), [...args], { timeout: 20_000 })

  await run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'])
  const port = await freePort()
  // fsync off: this server holds nothing worth keeping, and the tests should not wait on disks.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`
  let running = false
  const pg: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    port,
    async start() {
      await run('pg_ctl', ['start', '-D', data, '-w', '-t', '15', '-l', join(dir, 'log'), '-o', options])
      running = true
    },
    async stop() {
      await run('pg_ctl', ['stop', '-D', data, '-w', '-t', '15', '-m', 'fast'])
      running = false
    },
    async destroy() {
      if (running) await run('pg_ctl', ['stop', '-D', data, '-w', '-t', '15', '-m', 'immediate']).catch(() => undefined)
      running = false
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return pg
}
