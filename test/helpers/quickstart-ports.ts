import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { until } from './wait.js'

/** The quickstart's fixed ports: login app, token server public/admin, proxy, API, echo upstream, metrics. */
export const QUICKSTART_PORTS = [3000, 4444, 4445, 4455, 4456, 4460, 9000] as const

const LOCK = join(tmpdir(), 'gatehouse-quickstart-ports.lock')

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(false)
    })
    s.once('error', () => resolve(true))
  })
}

/** True when nothing listens on any quickstart port. */
export async function quickstartPortsFree(): Promise<boolean> {
  return (await Promise.all(QUICKSTART_PORTS.map(refused))).every(Boolean)
}

function holderAlive(): boolean {
  try {
    process.kill(Number(readFileSync(LOCK, 'utf8')), 0)
    return true
  } catch {
    return false
  }
}

/**
 * Takes the quickstart ports for this test file: waits for the lock other test files of the
 * suite take (tap runs two at a time) and for the ports to be free (a quickstart of another
 * checkout may hold them a while), instead of failing on EADDRINUSE. Returns the release.
 */
export async function takeQuickstartPorts(ms = 180_000): Promise<() => void> {
  await until(
    () => {
      try {
        writeFileSync(LOCK, String(process.pid), { flag: 'wx' })
        return true
      } catch {
        // A holder that died without releasing leaves a stale lock.
        if (!holderAlive()) rmSync(LOCK, { force: true })
        return false
      }
    },
    'the quickstart ports lock',
    ms,
    100,
  )
  const release = (): void => {
    if (readFileSync(LOCK, 'utf8') === String(process.pid)) rmSync(LOCK, { force: true })
  }
  try {
    await until(quickstartPortsFree, 'the quickstart ports to be free', ms, 250)
  } catch (err) {
    release()
    throw err
  }
  return release
}
