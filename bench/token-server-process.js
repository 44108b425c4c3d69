// The real token server (`gatehouse token-server serve all --dev`) as a child process, and the
// few admin/public calls the benchmarks need from it. Used by bench/token-server.js and
// bench/run.js; see bench/README.md.
import { spawn } from 'node:child_process'

const HOST = '127.0.0.1'
/** The secret every bench client is registered with. */
const CLIENT_SECRET = 'bench-client-secret'

/**
 * The environment of a token server on 127.0.0.1 with OS-picked ports. Only PATH and HOME are
 * inherited: a DSN or a port from the caller's shell must not leak into a benchmark.
 * @param {string} dsn e.g. `memory` or `sqlite:///tmp/x/bench.sqlite`
 */
export function tokenServerEnv(dsn) {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DSN: dsn,
    SECRETS_SYSTEM: 'bench-system-secret-0123456789',
    LOG_LEVEL: 'info',
    SERVE_PUBLIC_HOST: HOST,
    SERVE_ADMIN_HOST: HOST,
    SERVE_PUBLIC_PORT: '0',
    SERVE_ADMIN_PORT: '0',
  }
}

/**
 * Starts `token-server serve all --dev` and resolves once both APIs listen, with their base URLs.
 * The ports are read from the JSON log lines "token server public|admin API listening" (the
 * server logs at info: it writes no line per request, so the pipe stays quiet under load).
 * @param {{ cli: string, cwd: string, env: NodeJS.ProcessEnv, nodeArgs?: string[] }} opts `nodeArgs`: flags for
 *   node itself, before the script (e.g. `--cpu-prof`)
 * @returns {Promise<{ child: import('node:child_process').ChildProcess, public: string, admin: string }>}
 */
export function startTokenServer({ cli, cwd, env, nodeArgs = [] }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, cli, 'token-server', 'serve', 'all', '--dev'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let started = false
    const ports = {}
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`token server did not start within 20 s: ${out}`))
    }, 20_000)
    const onData = (d) => {
      // Keep only the start-up output (for the error message); later lines are dropped.
      if (started) return
      out += d
      for (const m of out.matchAll(/"port":(\d+),"msg":"token server (public|admin) API listening"/g)) ports[m[2]] = m[1]
      if (ports.public && ports.admin) {
        started = true
        clearTimeout(timer)
        resolvePromise({ child, public: `http://${HOST}:${ports.public}`, admin: `http://${HOST}:${ports.admin}` })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`token server exited ${code}: ${out}`))
    })
  })
}

/**
 * Registers a client_credentials client through the admin API.
 * @param {{ admin: string }} server
 * @param {Record<string, unknown>} [extra] more client metadata, e.g. `{ access_token_strategy: 'jwt' }`
 * @returns {Promise<{ id: string, basic: string }>} the client id and its HTTP Basic header value
 */
export async function registerClient(server, extra = {}) {
  const res = await fetch(`${server.admin}/admin/clients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_secret: CLIENT_SECRET, grant_types: ['client_credentials'], scope: 'api', ...extra }),
  })
  if (res.status !== 201) throw new Error(`client not created: ${res.status} ${await res.text()}`)
  const { client_id: id } = await res.json()
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64')}`
  return { id, basic }
}

/**
 * An access token for the client, with the client credentials grant and scope `api`.
 * @param {{ public: string }} server
 * @param {{ basic: string }} client
 * @returns {Promise<string>}
 */
export async function clientCredentialsToken(server, client) {
  const res = await fetch(`${server.public}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: client.basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=api',
  })
  if (res.status !== 200) throw new Error(`token not issued: ${res.status} ${await res.text()}`)
  const { access_token: token } = await res.json()
  return token
}

/**
 * How many introspections the token server has answered so far (active and inactive), from
 * its Prometheus counter on the admin port.
 * @param {{ admin: string }} server
 * @returns {Promise<number>}
 */
export async function introspectionCount(server) {
  const res = await fetch(`${server.admin}/admin/metrics/prometheus`)
  const text = await res.text()
  if (res.status !== 200) throw new Error(`token server metrics: ${res.status} ${text.slice(0, 200)}`)
  let n = 0
  for (const m of text.matchAll(/^gatehouse_token_server_introspections_total\{[^}]*\} (\d+)$/gm)) n += Number(m[1])
  return n
}
