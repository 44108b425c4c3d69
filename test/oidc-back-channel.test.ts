/**
 * Back-channel logout deliveries on their own: a receiver that fails, hangs or is not there never
 * holds up the logout (notify resolves once the tokens are signed), is logged, and is bounded
 * in time; shutdown waits for deliveries, then cuts them short.
 */
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { KeyManager } from '../src/token-server/keys.js'
import { BackChannelLogout } from '../src/token-server/oidc/logout/back-channel.js'
import { MemoryStore } from '../src/token-server/store/memory.js'
import type { ClientRecord } from '../src/token-server/store/types.js'

async function receiver(t: Test, answer: (res: import('node:http').ServerResponse) => void): Promise<{ url: string; hits: () => number }> {
  let hits = 0
  const server: Server = createServer((req, res) => {
    hits++
    req.resume()
    answer(res)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bc`, hits: () => hits }
}

function client(id: string, backchannel_logout_uri: string): ClientRecord {
  return { client_id: id, secret_hash: null, data: { backchannel_logout_uri }, client_name: '', owner: '', created_at: 0, updated_at: 0 }
}

function setup(timeoutMs?: number): { bc: BackChannelLogout; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) })
  const store = new MemoryStore()
  const bc = new BackChannelLogout({ keys: new KeyManager(store), logger, issuer: 'https://op.test/' }, timeoutMs)
  return { bc, lines }
}

t.test('200 and 204 are delivered; any other status is logged as a failure', async (t) => {
  const ok = await receiver(t, (res) => res.writeHead(204).end())
  const bad = await receiver(t, (res) => res.writeHead(500).end('boom'))
  const { bc, lines } = setup()
  await bc.notify([client('a', ok.url), client('b', bad.url), client('c', '')], 'sid-1')
  await bc.settle(60_000)
  t.same([ok.hits(), bad.hits()], [1, 1], 'one POST per client with a URI; none for the client without')
  t.match(lines.find((l) => l.client_id === 'a'), { msg: 'Back-Channel Logout Request', backchannel_logout_url: ok.url })
  t.match(lines.find((l) => l.client_id === 'b'), { level: 50, status: 500, msg: /expected HTTP status code 200 or 204/ })
})

t.test('a receiver that is not there, or never answers, is logged once the bound passes', async (t) => {
  const hanging = await receiver(t, () => {})
  // Nothing listens on the port of a closed server.
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/bc`
  closed.close()
  await once(closed, 'close')
  const { bc, lines } = setup(200)
  await bc.notify([client('dead', deadUrl), client('slow', hanging.url)], 'sid-2')
  await bc.settle(60_000)
  const failures = lines.filter((l) => l.msg === 'Unable to execute OpenID Connect Back-Channel Logout Request')
  t.same(failures.map((l) => l.client_id).sort(), ['dead', 'slow'], 'both failed, each logged')
})

t.test('shutdown: settle cuts deliveries short after the grace period', async (t) => {
  const hanging = await receiver(t, () => {})
  const { bc, lines } = setup()
  await bc.notify([client('slow', hanging.url)], 'sid-3')
  await bc.settle(0)
  t.ok(lines.some((l) => l.client_id === 'slow' && l.level === 50), 'aborted and logged, not left running')
  await bc.settle(0)
})
