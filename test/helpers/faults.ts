import { createServer as createTcpServer, connect, type Server as TcpServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Polls `cond` every `everyMs` until it holds or `ms` have passed. Returns how long it took, or
 * -1 when it never held (so a test can assert the bound and print the time).
 */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, everyMs = 20): Promise<number> {
  const started = Date.now()
  for (;;) {
    if (await cond()) return Date.now() - started
    if (Date.now() - started >= ms) return -1
    await sleep(everyMs)
  }
}

/** A port on 127.0.0.1 that was free a moment ago (bound to 0, then released). */
export async function freePort(): Promise<number> {
  const s = createTcpServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

/** Runs `fn` and returns its result with the milliseconds it took. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now()
  const value = await fn()
  return { value, ms: Date.now() - started }
}

/**
 * What a Relay does with connections:
 * - `pass`: relays both ways;
 * - `delay`: relays, but holds every chunk from the target for `delayMs` (a slow server);
 * - `reset`: accepts and destroys at once (the server's port answers, nothing works);
 * - `refuse`: stops listening, so connections are refused (the server is gone).
 */
export type RelayMode = 'pass' | 'delay' | 'reset' | 'refuse'

/**
 * A TCP relay on 127.0.0.1 in front of a real server, to make it slow, flaky or unreachable
 * without touching it, and to see every connection attempt (`accepted`: when each came).
 */
export interface Relay {
  readonly url: string
  readonly port: number
  /** Date.now() of every accepted connection, in order. */
  readonly accepted: number[]
  /** Connections open now (both sides). */
  open(): number
  /** Switches mode; existing connections are cut so that kept-alive ones cannot bypass it. */
  set(mode: RelayMode, delayMs?: number): Promise<void>
  close(): Promise<void>
}

export async function startRelay(targetPort: number): Promise<Relay> {
  let mode: RelayMode = 'pass'
  let delayMs = 0
  const accepted: number[] = []
  const live = new Set<Socket>()
  let server: TcpServer | undefined
  let port = 0

  const onConnection = (client: Socket): void => {
    accepted.push(Date.now())
    if (mode === 'reset') {
      client.destroy()
      return
    }
    const target = connect(targetPort, '127.0.0.1')
    live.add(client)
    live.add(target)
    const drop = (): void => {
      client.destroy()
      target.destroy()
      live.delete(client)
      live.delete(target)
    }
    const hold = mode === 'delay' ? delayMs : 0
    client.on('error', drop).on('close', drop)
    // A delayed answer's end comes after its delayed bytes.
    target.on('error', drop).on('close', () => (hold > 0 ? setTimeout(drop, hold).unref() : drop()))
    client.on('data', (d: Buffer) => target.write(d))
    target.on('data', (d: Buffer) => {
      if (hold === 0) client.write(d)
      else setTimeout(() => client.writable && client.write(d), hold).unref()
    })
  }

  const listen = async (): Promise<void> => {
    server = createTcpServer(onConnection)
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r))
    port = (server.address() as AddressInfo).port
  }
  const stop = async (): Promise<void> => {
    const s = server
    server = undefined
    for (const sock of live) sock.destroy()
    live.clear()
    if (s !== undefined) await new Promise<void>((r) => s.close(() => r()))
  }
  await listen()

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accepted,
    open: () => live.size,
    async set(next, ms = 0) {
      delayMs = ms
      if (next === 'refuse') {
        mode = next
        await stop()
        return
      }
      for (const sock of live) sock.destroy()
      live.clear()
      mode = next
      if (server === undefined) await listen()
    },
    close: stop,
  }
}
