import type { ChildProcess } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Polls `cond` until it holds; throws (naming `what`) when `ms` pass first. For conditions no
 * event announces; where one does (a log line, an exit), wait for that instead.
 */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000, everyMs = 20): Promise<void> {
  const started = Date.now()
  for (;;) {
    if (await cond()) return
    if (Date.now() - started >= ms) throw new Error(`timed out after ${ms}ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** How a child process ended; resolves at once when it already has. */
export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}

/**
 * Resolves once `output()` matches `re`, checking whenever the child writes (no polling); rejects
 * when the child exits first or after `ms`.
 */
export function outputMatching(child: ChildProcess, output: () => string, re: RegExp, ms = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!re.test(output())) return
      stop()
      resolve()
    }
    const exit = (): void => {
      stop()
      // The last chunk may come with the exit.
      if (re.test(output())) resolve()
      else reject(new Error(`exited before its output matched ${re}; output:\n${output()}`))
    }
    const timer = setTimeout(() => {
      stop()
      reject(new Error(`output did not match ${re} within ${ms}ms; output:\n${output()}`))
    }, ms)
    const stop = (): void => {
      clearTimeout(timer)
      child.stdout?.off('data', later)
      child.stderr?.off('data', later)
      child.off('exit', exit)
    }
    // The helper's own data listener may run after ours: look again once it has.
    const later = (): void => void setImmediate(check)
    child.stdout?.on('data', later)
    child.stderr?.on('data', later)
    child.once('exit', exit)
    check()
  })
}
