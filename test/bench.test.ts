/**
 * bench/run.js: the pieces that decide what a run means (which cores each process gets, the
 * nginx reference's config, the summary against issue 10's goals), and one quick run end to end
 * so the benchmark does not rot. Nothing here asserts a speed: the numbers are only printed.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { findNginx, nginxConfig } from '../bench/baselines.js'
import { coreLayout, parseCpuList } from '../bench/cores.js'
import { combineRuns } from '../bench/report.js'
import { issueSummary } from '../bench/summary.js'
import { ROOT } from './helpers/cli.js'

t.test('core layout: the measured proxy always has a core of its own', async (t) => {
  t.equal(coreLayout([0]), undefined, 'one core: nothing pinned')
  t.same(coreLayout([0, 1]), { load: '0', servers: '0', proxy: '1' })
  t.same(coreLayout([0, 1, 2]), { load: '0', servers: '1', proxy: '2' })
  t.same(coreLayout([2, 3, 4, 5]), { load: '2,3', servers: '4', proxy: '5' })
  t.same(parseCpuList('0-2,5,7-8\n'), [0, 1, 2, 5, 7, 8])
})

t.test('nginx reference: one worker, keep-alive to the upstream, access log as the gateway logs', async (t) => {
  const opts = { dir: '/tmp/x', port: 8123, upstream: 'http://127.0.0.1:9001' }
  const quiet = nginxConfig({ ...opts, accessLog: false })
  t.match(quiet, /^worker_processes 1;$/m)
  t.match(quiet, /access_log off;/)
  t.match(quiet, /server 127\.0\.0\.1:9001; keepalive 256;/)
  t.match(quiet, /proxy_http_version 1\.1; proxy_set_header Connection "";/)
  t.match(quiet, /listen 127\.0\.0\.1:8123;/)
  t.match(nginxConfig({ ...opts, accessLog: true }), /access_log \/dev\/null;/)

  const nginx = findNginx()
  t.ok(nginx, 'nginx is installed (apt-get install nginx-light; .ci/run does it)')
  if (nginx === undefined) return
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-nginx-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig({ ...opts, dir, accessLog: true }))
  const check = spawnSync(nginx, ['-t', '-e', 'stderr', '-p', `${dir}/`, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' })
  t.equal(check.status, 0, 'nginx -t accepts the config', { stderr: check.stderr })
})

t.test('two runs combine into means, the largest RSS and how far apart they were', async (t) => {
  const run = (rps: number, rss: number, perCore?: number) => ({ rps, latencyMean: rps / 1000, p99: 10, total: rps, non2xx: 1, errors: 0, maxRssMiB: rss, cpu: 0.5, perCore, introspections: undefined })
  const c = combineRuns([run(900, 80, 2000), run(1100, 95, 3000)])
  t.equal(c.rps, 1000)
  t.equal(c.spread, 0.2)
  t.equal(c.perCore, 2500)
  t.equal(c.perCoreSpread, 0.4)
  t.equal(combineRuns([run(900, 80, 2000), run(1100, 95)]).perCore, undefined, 'a run without a CPU figure: none')
  t.equal(c.maxRssMiB, 95)
  t.equal(c.non2xx, 2)
  t.equal(c.introspections, undefined)
  t.equal(combineRuns([run(900, 80)]).spread, undefined, 'one run: no spread')
})

t.test("summary: each of issue 10's rows against its goal", async (t) => {
  const opts = { logLevel: 'warn', rulesSmall: 10, rulesLarge: 10_010 }
  const rows = issueSummary(
    {
      gateway: { rps: 1000 },
      'gateway-info': { rps: 950 },
      jwt: { rps: 500 },
      'jwt-first-seen': { rps: 250 },
      'introspection-hit': { rps: 960 },
      'rules-10': { rps: 1000, maxRssMiB: 90 },
      'rules-10k': { rps: 1000, maxRssMiB: 190 },
      nginx: { rps: 2500 },
    },
    opts,
  )
  const by = (prefix: string) => rows.find((r) => r.what.startsWith(prefix))
  t.match(by('log.level info vs warn'), { value: '0.95', goal: '≥ 0.90', verdict: 'met' })
  t.match(by('jwt (RS256)'), { value: '0.50', goal: '≥ 0.80', verdict: 'NOT met' })
  t.match(by('jwt, a first-seen'), { value: '0.25', verdict: 'n/a', note: /0\.50 of the repeated token/ })
  t.match(by('oauth2_introspection'), { value: '0.96', verdict: 'met' })
  t.match(by('RSS under load, 10,010 rules minus 10'), { value: '+100 MiB (10.2 KB per rule)', verdict: 'NOT met' })
  t.match(by('RSS under load, 10 rules'), { value: '90 MiB', verdict: 'met' })
  t.match(by('token server'), { verdict: 'n/a', note: /bench\/token-server\.js/ })
  t.match(by('gateway noop vs nginx'), { value: '0.40', goal: '≥ 0.50', verdict: 'NOT met', note: /access_log off/ })

  // Requests per CPU-second decide where both targets have them: the machine's other load does not.
  const perCore = issueSummary({ gateway: { rps: 1000, perCore: 4000 }, nginx: { rps: 3000, perCore: 8000 }, jwt: { rps: 900, perCore: 2000 } }, opts)
  t.match(perCore.find((r) => r.what.startsWith('gateway noop vs nginx')), { value: '0.50', verdict: 'met' })
  t.match(perCore.find((r) => r.what.startsWith('jwt (RS256)')), { value: '0.50', verdict: 'NOT met' })
  t.match(by('jwt (RS256)'), { note: /req\/s: no CPU figures/ }, 'the fallback says so')

  const partial = issueSummary({ gateway: { rps: 1000 } }, { ...opts, logLevel: 'info' })
  t.match(partial.find((r) => r.what.startsWith('log.level')), { verdict: 'n/a', note: /--log-level info/ }, 'info vs info compares nothing')
  t.match(partial.find((r) => r.what.startsWith('jwt (RS256)')), { value: '-', verdict: 'n/a', note: 'needs jwt and gateway' })
  t.match(partial.find((r) => r.what.startsWith('gateway noop vs nginx')), { verdict: 'n/a' })
  t.notOk(partial.some((r) => r.what.startsWith('jwt, a first-seen')), 'no first-seen row without its target')
})

/** Runs a bench script to completion with its output. */
function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

t.test('a quick run measures each target and prints the summary', async (t) => {
  const targets = ['direct', 'bare', ...(findNginx() === undefined ? [] : ['nginx']), 'gateway']
  const out = await bench(['bench/run.js', '--quick', '--only', targets.join(',')])
  t.equal(out.code, 0, 'bench/run.js exits 0', { stdout: out.stdout, stderr: out.stderr })
  for (const target of targets) t.match(out.stdout, new RegExp(`^${target} +\\d+ `, 'm'), `a row for ${target}`)
  t.match(out.stdout, /^gateway\/bare +\d+\.\d\dx/m)
  t.match(out.stdout, /^issue 10 /m)
  t.notMatch(out.stdout, /some requests failed/)
})

t.test('token server bench: client credentials, introspection and the OIDC grants in one run, none failing', async (t) => {
  // Tiny: the codes and refresh tokens come through the real login/consent flow first (a few dozen).
  const out = await bench(['bench/token-server.js', '--stores', 'sqlite', '--duration', '1', '--warmup', '1', '--connections', '3', '--codes', '12'])
  t.equal(out.code, 0, 'bench/token-server.js exits 0', { stdout: out.stdout, stderr: out.stderr })
  t.match(out.stderr, /sqlite current: 9 refresh tokens and 24 codes through the login\/consent flow/, 'set-up: a refresh token per connection and run (+1), the codes of the measured run and of the warm-up')
  for (const scenario of ['token', 'introspect', 'refresh_token', 'authorization_code']) {
    // store, scenario, req/s, mean, p99, p99/mean, p99.9, max, CPU ms/1k, failed (0)
    t.match(out.stdout, new RegExp(`^sqlite +${scenario} +\\d+ +[\\d.]+ +\\d+ +[\\d.]+× +\\d+ +\\d+ +(\\d+|-) +0 `, 'm'), `a row for ${scenario}, nothing failed`)
  }
  t.match(out.stdout, /authorization_code: 12 codes per run/)
  t.match(out.stdout, /^sqlite +current +refresh_token \/ client_credentials +\d+\.\d\d× /m)
  t.match(out.stdout, /^sqlite +current +authorization_code \/ client_credentials +\d+\.\d\d× /m)
})

t.test('ID-token signing micro-bench: a row per algorithm', async (t) => {
  const out = await bench(['bench/id-token-sign.js', '--ms', '50', '--rounds', '1'])
  t.equal(out.code, 0, 'bench/id-token-sign.js exits 0', { stdout: out.stdout, stderr: out.stderr })
  for (const alg of ['RS256', 'ES256', 'EdDSA']) t.match(out.stdout, new RegExp(`^${alg} +\\d+ +\\d+ +\\d+\\.\\d× +\\d+ `, 'm'), alg)
  t.match(out.stdout, /^RS256 +\d+ +\d+ +1\.0× /m, 'RS256 is the reference')
})
