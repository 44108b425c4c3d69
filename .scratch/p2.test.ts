import t from 'tap'
import { rawExchange } from '../test/helpers/raw-http.js'
import { startGateway, startUpstream } from '../test/helpers/servers.js'
const up = await startUpstream()
const gw = await startGateway({ 'r.yml': `
- id: public
  match: { url: 'http://gw.test/public/<.*>', methods: [GET, POST] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
` }, { serve: { proxy: { host: '127.0.0.1', port: 0, timeout: { read: '1s', write: '5s', idle: '5s' } }, api: { host: '127.0.0.1', port: 0 } } })
const port = Number(new URL(gw.proxy).port)
const head = 'GET /public/x HTTP/1.1\r\nHost: gw.test\r\nX-Slow: ' + 'a'.repeat(200)
const ex = await rawExchange(port, '', { pieces: head.split(''), delayMs: 50, timeoutMs: 40000 })
console.log('slow headers:', JSON.stringify(ex.raw.slice(0, 80)), ex.closedByServer, ex.ms)
const body = 'POST /public/x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 300\r\n\r\n'
const ex2 = await rawExchange(port, '', { pieces: [body, ...'b'.repeat(300).split('')], delayMs: 50, timeoutMs: 40000 })
console.log('slow body:', JSON.stringify(ex2.raw.slice(0, 80)), ex2.closedByServer, ex2.ms, up.seen.length)
await gw.close(); await up.close()
t.pass()
