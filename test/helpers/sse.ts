import { request } from 'undici'

export interface SseEvent {
  id?: string
  event: string
  data: string
}

/** A minimal server-sent-events reader for tests: collects events, lets a test wait for one. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<{ events: SseEvent[]; next(pred?: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>; close(): void }> {
  const ac = new AbortController()
  const res = await request(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal })
  if (res.statusCode !== 200) throw new Error(`SSE ${url}: ${res.statusCode} ${await res.body.text()}`)
  const events: SseEvent[] = []
  const waiters: Array<{ pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }> = []
  let seen = 0
  let buf = ''
  res.body.setEncoding('utf8')
  res.body.on('data', (chunk: string) => {
    buf += chunk
    let end
    while ((end = buf.indexOf('\n\n')) !== -1) {
      const block = buf.slice(0, end)
      buf = buf.slice(end + 2)
      const e: SseEvent = { event: 'message', data: '' }
      let has = false
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'event') e.event = value
        else if (field === 'data') e.data += value
        else if (field === 'id') e.id = value
        else continue
        has = true
      }
      if (!has) continue
      events.push(e)
      for (const w of [...waiters]) if (w.pred(e)) waiters.splice(waiters.indexOf(w), 1), w.resolve(e)
    }
  })
  res.body.on('error', () => undefined)
  return {
    events,
    /**
     * The next event (after those already returned by next) matching pred. `timeoutMs` only
     * bounds a hang: generous, so a busy machine's late event is not taken for a missing one.
     */
    next(pred = () => true, timeoutMs = 10_000) {
      for (let i = seen; i < events.length; i++) {
        if (pred(events[i]!)) {
          seen = i + 1
          return Promise.resolve(events[i]!)
        }
      }
      return new Promise((resolve, reject) => {
        const waiter = {
          pred,
          resolve: (e: SseEvent) => {
            clearTimeout(timer)
            seen = events.indexOf(e) + 1
            resolve(e)
          },
        }
        const timer = setTimeout(() => {
          // A waiter that gave up must not take a later event (and move `seen` past it).
          waiters.splice(waiters.indexOf(waiter), 1)
          reject(new Error(`no matching SSE event within ${timeoutMs} ms; got ${JSON.stringify(events)}`))
        }, timeoutMs)
        waiters.push(waiter)
      })
    },
    close: () => ac.abort(),
  }
}
