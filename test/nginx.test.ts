/**
 * A real nginx (Debian's package; .ci/run installs it when missing) configured from the example
 * in config/nginx/, asking the decision API through auth_request. Only the addresses are changed.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { ROOT } from './helpers/cli.js'
import { startGateway, startUpstream } from './helpers/servers.js'

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0)

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

t.test('nginx auth_request → decision API: allowed, 401, 403 and 404 behave; mutated headers reach the upstream', async (t) => {
  t.ok(NGINX, 'nginx is installed (apt-get install nginx-light; .ci/run does it)')
  if (NGINX === undefined) return
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  const upstream = await startUpstream()
  t.teardown(() => upstream.close())
  const rule = (id: string, path: string, authn: string, authz: string, mutators = '[{ handler: noop }]') =>
    `- { id: ${id}, match: { url: "http://${host}/${path}/<.*>", methods: [GET] }, upstream: { url: "${upstream.url}" }, authenticators: [{ handler: ${authn} }], authorizer: { handler: ${authz} }, mutators: ${mutators} }\n`
  const gw = await startGateway({
    'rules.yml':
      rule('public', 'public', 'anonymous', 'allow', "[{ handler: header, config: { headers: { X-User: '{{ print .Subject }}' } } }]") +
      rule('admin', 'admin', 'unauthorized', 'deny') +
      rule('internal', 'internal', 'anonymous', 'deny'),
  })
  t.teardown(() => gw.close())

  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-nginx-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d))
  const site = readFileSync(join(ROOT, 'config/nginx/gatehouse.conf'), 'utf8')
    .replace('listen 127.0.0.1:8080;', `listen ${host};`)
    // Whole addresses only (no digit after the port): the gateway's port, picked by the OS, may
    // itself start with 4460, and a plain replaceAll then rewrote it as the upstream's.
    .replace(/127\.0\.0\.1:4456(?!\d)/g, gw.api.replace('http://', ''))
    .replace(/http:\/\/127\.0\.0\.1:4460(?!\d)/g, upstream.url)
  writeFileSync(join(dir, 'site.conf'), site)
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
`,
  )
  const nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  nginx.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  t.teardown(() => {
    nginx.kill('SIGQUIT')
  })
  const get = async (path: string) => {
    const res = await request(`http://${host}${path}`)
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() }
  }
  // Up when it answers (a bounded wait).
  for (let i = 0; i < 200; i++) {
    try {
      await get('/public/ping')
      break
    } catch {
      if (nginx.exitCode !== null) break
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  t.equal(nginx.exitCode, null, `nginx runs${stderr ? `: ${stderr}` : ''}`)

  upstream.seen.length = 0
  const ok = await get('/public/hello?x=1')
  t.equal(ok.status, 200)
  t.equal(upstream.seen.length, 1)
  t.equal(upstream.seen[0]!.url, '/public/hello?x=1')
  t.equal(upstream.seen[0]!.headers['x-user'], 'anonymous', 'the header the mutator set reached the upstream through auth_request_set')

  const denied = await get('/admin/settings')
  t.equal(denied.status, 401)
  t.equal((await get('/internal/report')).status, 403)
  const none = await get('/nothing/here')
  t.equal(none.status, 404, 'no rule → 404, not nginx’s 500')
  t.match(JSON.parse(none.body), { error: { code: 404 } })
  t.equal(upstream.seen.length, 1, 'nothing denied reached the upstream')
  const decisions = gw.logs.filter((l) => l.msg === 'decision')
  t.ok(decisions.some((l) => l.path === '/admin/settings' && l.status === 401), 'the decision API saw the forwarded URI')
})
