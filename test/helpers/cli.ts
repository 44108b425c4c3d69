import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The built CLI (npm test builds first). */
export const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `gatehouse …` to completion (bounded by `timeoutMs`). */
export function run(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: opts.env ?? clean(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Starts a long-running `gatehouse …` and resolves once `ready` appears in its output. */
export function start(args: readonly string[], ready: RegExp, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ child: ChildProcess; output: () => string; stop(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: opts.env ?? clean(), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`not ready in time; output:\n${out}`))
    }, opts.timeoutMs ?? 20_000)
    const onData = (d: Buffer): void => {
      out += d.toString()
      if (ready.test(out)) {
        clearTimeout(timer)
        resolve({
          child,
          output: () => out,
          stop: () =>
            new Promise<void>((r) => {
              // A child killed by a signal has a signalCode and no exitCode; it will not exit again.
              if (child.exitCode !== null || child.signalCode !== null) return r()
              child.once('exit', () => r())
              child.kill('SIGTERM')
              setTimeout(() => child.kill('SIGKILL'), 5000).unref()
            }),
        })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before ready; output:\n${out}`))
    })
  })
}

/** The environment without config overrides that could leak in from the developer's shell. */
export function clean(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME }
  return { ...env, ...extra }
}
