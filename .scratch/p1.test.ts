import t from 'tap'
import { rawExchange } from '../test/helpers/raw-http.js'
import { startGateway, startUpstream } from '../test/helpers/servers.js'
const up = await startUpstream()
const gw = await startGateway({ 'r.yml': `
- id: public
  match: { url: 'http://gw.test/public/<.*>', methods: [GET] }
  upstream: { url: '${up.url}' }
  authenticators: [{ handler: noop }]
  authorizer: { handler: allow }
  mutators: [{ handler: noop }]
` })
const port = Number(new URL(gw.proxy).port)
for (const req of ['CONNECT gw.test:80 HTTP/1.1\r\nHost: gw.test\r\n\r\n', 'GET /public/x HTTP/2.0\r\nHost: gw.test\r\nConnection: close\r\n\r\n', 'GET /public/x HTTP/1.2\r\nHost: gw.test\r\nConnection: close\r\n\r\n', 'GET /public/x HTTP/0.9\r\nHost: gw.test\r\nConnection: close\r\n\r\n']) {
  const ex = await rawExchange(port, req, { timeoutMs: 2000 })
  console.log(JSON.stringify(req.split('\r\n')[0]), JSON.stringify(ex.raw.slice(0, 120)), ex.closedByServer, ex.ms)
}
await gw.close(); await up.close()
t.pass()
