import t from 'tap'
import { createServer } from 'node:http'
import { connect } from 'node:net'
import { Pool } from 'undici'
const raw: string[] = []
const srv = (await import('node:net')).createServer((s) => { s.on('data', (d) => { raw.push(d.toString('latin1')); s.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n') }) })
await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
const port = (srv.address() as any).port
const pool = new Pool(`http://127.0.0.1:${port}`)
for (const v of ['alice\u010d\u010aX-Injected: 1', 'caf\u00e9', 'a\u2028b', 'a\x7fb']) {
  await new Promise<void>((resolve) => {
    pool.dispatch({ path: '/', method: 'GET', headers: ['x-user', v] }, {
      onRequestStart() {}, onResponseStart() {}, onResponseData() {}, onResponseEnd() { console.log('sent', JSON.stringify(v), JSON.stringify(raw.at(-1))); resolve() },
      onResponseError(_c: unknown, e: Error) { console.log('error', JSON.stringify(v), (e as any).code, e.message); resolve() },
    } as any)
  })
}
await pool.close(); srv.close()
t.pass()
