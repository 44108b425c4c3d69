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
` })
const port = Number(new URL(gw.proxy).port)
for (const req of ['GET /public/x\nX-Injected: 1 HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n', 'GET /public/x HTTP/1.1\nHost: gw.test\nConnection: close\n\n', 'POST /public/x HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n']) {
  const b = up.seen.length
  const ex = await rawExchange(port, req, { timeoutMs: 2000 })
  console.log(JSON.stringify(req.slice(0, 40)), JSON.stringify(ex.raw.slice(0, 60)), JSON.stringify(up.seen.slice(b).map((s) => [s.url, s.headers])))
}
await gw.close(); await up.close()
t.pass()
