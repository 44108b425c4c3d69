import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv } from 'ajv'
import { parse } from 'yaml'
import { configSchema } from '../src/config/schema.js'
import { envOverrideEntries } from '../src/config/env.js'
import { validateRuleFiles } from '../src/rules/validate.js'
import { loadConfig, loadConfigFor } from '../src/config/load.js'
import { startupProblems, TOKEN_SERVER_CONFIG } from '../src/token-server/config.js'
import { parsePostgresDsn } from '../src/token-server/store/postgres-dsn.js'
import { ROOT } from './helpers/cli.js'
import { checkCommand, optionValues } from './helpers/commands.js'

// There is no Docker engine here: these tests check what a build and `docker compose up` would
// rely on, against the real CLI, configs and rules.

/** Dockerfile instructions, continuation lines joined, comments dropped. */
const instructions = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map((l) => ({ op: l.split(/\s+/, 1)[0]!.toUpperCase(), rest: l.slice(l.search(/\s/) + 1).trim() }))
const stages = instructions.reduce<(typeof instructions)[]>((acc, i) => (i.op === 'FROM' ? [...acc, [i]] : (acc[acc.length - 1]!.push(i), acc)), [])
const jsonArg = (op: string, stage = stages[stages.length - 1]!): string[] => {
  const rest = stage.findLast((i) => i.op === op)?.rest ?? '[]'
  return JSON.parse(rest.replace(/^.*?CMD\s+/, '')) as string[]
}
const ENTRYPOINT = jsonArg('ENTRYPOINT')
const CMD = jsonArg('CMD')
const HEALTHCHECK = jsonArg('HEALTHCHECK')

/** A path as the image has it (WORKDIR /app) → the repository file it comes from; only what the image copies. */
function fromImage(t: Test, path: string): string {
  const rel = path.replace(/^\/app\//, '')
  t.ok(['config/', 'rules/', 'dist/'].some((d) => rel.startsWith(d) || rel === d.slice(0, -1)), `${path} is in the image`)
  return join(ROOT, rel)
}

const portOf = (url: string): number => Number(new URL(url).port)

t.test('Dockerfile: multi-stage on node:20-slim, compilers only to build, non-root, health check', async (t) => {
  t.same(stages.map((s) => s[0]!.rest), ['node:20-slim AS build', 'node:20-slim'])
  const [build, runtime] = stages as [typeof instructions, typeof instructions]
  t.match(build.map((i) => i.rest).join('\n'), /apt-get install[^\n]*python3 make g\+\+/, 'better-sqlite3 can compile')
  t.match(build.map((i) => i.rest).join('\n'), /npm ci[\s\S]*npm prune --omit=dev/, 'production dependencies only')
  t.notMatch(runtime.map((i) => i.rest).join('\n'), /apt-get|npm (ci|install)/, 'nothing compiled in the runtime stage')
  t.same(runtime.findLast((i) => i.op === 'USER')?.rest, 'node', 'runs as the unprivileged node user')
  const copied = [...build, ...runtime].filter((i) => i.op === 'COPY' && !i.rest.startsWith('--from')).flatMap((i) => i.rest.split(/\s+/).slice(0, -1))
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'))
  for (const src of copied) {
    t.ok(existsSync(join(ROOT, src)), `COPY ${src}: exists`)
    t.notOk(ignored.includes(src), `COPY ${src}: not in .dockerignore`)
  }
  t.same(ENTRYPOINT, ['node', (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { gatehouse: string } }).bin.gatehouse])

  // The default command serves the gateway; the health check asks that gateway.
  await checkCommand(t, CMD, 'CMD')
  const config = loadConfig(optionValues(CMD, '-c', '--config').map((f) => fromImage(t, f)), {})
  t.same(HEALTHCHECK.slice(0, 2), ENTRYPOINT, 'HEALTHCHECK runs the CLI with node (no curl in slim images)')
  await checkCommand(t, HEALTHCHECK.slice(2), 'HEALTHCHECK')
  t.equal(portOf(optionValues(HEALTHCHECK, '--endpoint', '-e')[0]!), config.serve.api.port, 'HEALTHCHECK asks the API port')
  const exposed = runtime.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.rest.split(/\s+/).map(Number))
  const ts = loadConfigFor(TOKEN_SERVER_CONFIG, [], {})
  t.same(exposed, [config.serve.proxy.port, config.serve.api.port, ts.serve.public.port, ts.serve.admin.port], 'EXPOSE: the default ports')
})

interface Service {
  image?: string
  restart?: string
  build?: string
  command?: string[]
  environment?: Record<string, string>
  ports?: string[]
  depends_on?: Record<string, { condition: string }> | string[]
  network_mode?: string
  healthcheck?: { test?: string[]; disable?: boolean }
}
const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service> }
const services = compose.services
/** Container ports a service publishes (`127.0.0.1:4455:4455` → 4455), only on the loopback of the host. */
const published = (t: Test, s: Service): number[] => (s.ports ?? []).map((p) => {
  t.match(p, /^127\.0\.0\.1:/, `${p}: published on the host's loopback only`)
  return Number(p.split(':').pop())
})

t.test('compose.yaml: every gatehouse command exists and its config validates', async (t) => {
  t.same(Object.keys(services).sort(), ['echo', 'gateway', 'migrate', 'postgres', 'token-server'])
  for (const [name, s] of Object.entries(services)) {
    if (s.image === 'postgres:16') continue
    t.same([s.image, s.build], ['gatehouse:local', '.'], `${name}: the image the Dockerfile builds`)
    await checkCommand(t, s.command ?? [], name)
    const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {})
    for (const d of deps) t.ok(d in services, `${name} depends on a service that exists (${d})`)
  }
  t.same(services.migrate!.depends_on, { postgres: { condition: 'service_healthy' } })
  t.same(services['token-server']!.depends_on, { migrate: { condition: 'service_completed_successfully' } })
})

t.test('compose.yaml: token server and migration share a DSN that reaches the postgres service', async (t) => {
  const ts = services['token-server']!
  const dsn = ts.environment!.DSN!
  t.equal(services.migrate!.environment?.DSN, dsn)
  t.ok(services.migrate!.command!.includes('-e'), 'migrate reads the DSN from the environment')
  const url = new URL(dsn)
  parsePostgresDsn(dsn)
  const pg = services.postgres!.environment!
  t.same([url.hostname, url.username, url.password, url.pathname], ['postgres', pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, `/${pg.POSTGRES_DB}`])

  const config = loadConfigFor(TOKEN_SERVER_CONFIG, optionValues(ts.command!, '-c', '--config').map((f) => fromImage(t, f)), ts.environment)
  t.same(startupProblems(config, { dev: ts.command!.includes('--dev') }), [], 'the token server would start')
  t.equal(config.serve.public.host, '', 'listens on every interface of its container')
  t.same(published(t, ts), [config.serve.public.port, config.serve.admin.port])
  t.equal(portOf(optionValues(ts.healthcheck!.test!, '--endpoint')[0]!), config.serve.admin.port, 'its health check asks its own port')
})

t.test('compose.yaml: the gateway serves the example rules, which reach the echo', async (t) => {
  const gw = services.gateway!
  const files = optionValues(gw.command!, '-c', '--config').map((f) => fromImage(t, f))
  const config = loadConfig(files, gw.environment ?? {})
  t.same([config.serve.proxy.host, config.serve.api.host], ['0.0.0.0', '0.0.0.0'], 'reachable from outside its container')
  t.same(published(t, gw), [config.serve.proxy.port, config.serve.api.port])
  t.equal(portOf(optionValues(HEALTHCHECK, '--endpoint')[0]!), config.serve.api.port, "the image's health check fits")
  const repos = config.access_rules.repositories.map((r) => fromImage(t, r))
  t.same(await validateRuleFiles(repos, config), [], 'every rule is valid with this config')

  // The echo shares the gateway's network: 127.0.0.1 in a rule means the gateway's container,
  // where only the echo listens besides the gateway itself (the token server is `token-server`).
  const echo = services.echo!
  t.equal(echo.network_mode, 'service:gateway')
  const echoPort = Number(optionValues(echo.command!, '--port')[0])
  t.equal(portOf(echo.healthcheck!.test!.join(' ').match(/http:\/\/[^'"]+/)![0]), echoPort, 'echo health check asks its port')
  // Issuers are names compared as strings (the token server's public URL as clients see it),
  // not addresses the gateway dials: leave them out of the search.
  const dialled = [JSON.stringify(config), ...repos.flatMap(ruleTexts)].join('\n').replace(/"?trusted_issuers"?:\s*\[[^\]]*\]/g, '')
  const local = dialled.match(/(127\.0\.0\.1|localhost):(\d+)/g) ?? []
  const allowed = new Set([echoPort, config.serve.proxy.port])
  for (const hostPort of new Set(local)) t.ok(allowed.has(Number(hostPort.split(':')[1])), `${hostPort} is reachable from the gateway container`)
})

/**
 * The text of every rule file in a directory (recursively), to search for addresses. Test cases
 * (`*.test.yml`, run by `rules test` against an in-process fake) are not loaded by the gateway.
 */
function ruleTexts(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(json|ya?ml)$/i.test(f) && !/\.test\.ya?ml$/i.test(f))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
}

t.test('compose.yaml: valid against the Compose Specification schema (what `docker compose config` checks, without an engine)', async (t) => {
  const schema = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'compose-spec.json'), 'utf8')) as object
  // The published schema names draft-07 by URL and uses formats (durations) ajv does not know.
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false, validateSchema: false }).compile(schema)
  const raw = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as unknown
  t.ok(validate(raw), `compose.yaml: ${JSON.stringify(validate.errors?.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`))}`)
  // The check itself: a typo'd key and a made-up condition are caught.
  const broken = structuredClone(raw) as { services: Record<string, Record<string, unknown>> }
  broken.services.gateway!.enviroment = { LOG_LEVEL: 'debug' }
  t.notOk(validate(broken), 'a misspelled service key is refused')
  const broken2 = structuredClone(raw) as { services: { migrate: { depends_on: { postgres: { condition: string } } } } }
  broken2.services.migrate.depends_on.postgres.condition = 'service_up'
  t.notOk(validate(broken2), 'an unknown depends_on condition is refused')
})

/** The config schema a gatehouse command reads its environment against; undefined: it reads none. */
function schemaOf(command: readonly string[]) {
  if (command[0] === 'serve') return configSchema
  if (command[0] === 'token-server') return TOKEN_SERVER_CONFIG.schema
  return undefined
}

t.test('compose.yaml: every environment variable of a gatehouse service sets a real config key', async (t) => {
  for (const [name, s] of Object.entries(services)) {
    if (s.image === 'postgres:16') continue
    const env = s.environment ?? {}
    const schema = schemaOf(s.command ?? [])
    if (schema === undefined) {
      t.same(env, {}, `${name}: \`gatehouse ${s.command!.join(' ')}\` reads no config, so no environment`)
      continue
    }
    const mapped = new Map(envOverrideEntries(env, schema).map((e) => [e.name, e.path.join('.')]))
    for (const variable of Object.keys(env)) {
      // Environment values are strings to the process, whatever YAML made of them.
      t.type(env[variable], 'string', `${name}: ${variable} is a string in YAML (compose passes it as text)`)
      t.ok(mapped.has(variable), `${name}: ${variable} sets a config key${mapped.has(variable) ? ` (${mapped.get(variable)})` : ' — it would be ignored'}`)
    }
  }
  // The check itself: a misspelled variable maps to nothing.
  t.same(envOverrideEntries({ URLS_SELF_ISSEUR: 'http://x/' }, TOKEN_SERVER_CONFIG.schema), [], 'a misspelled variable is caught')
})

t.test('compose.yaml: dependencies, health checks, shared networks and host ports fit together', async (t) => {
  const healthy = (name: string): boolean => {
    const s = services[name]!
    if (s.healthcheck?.disable === true) return false
    // A service without its own healthcheck gets the image's HEALTHCHECK (only the gatehouse image has one).
    return s.healthcheck?.test !== undefined || s.image === 'gatehouse:local'
  }
  for (const [name, s] of Object.entries(services)) {
    if (s.depends_on !== undefined && !Array.isArray(s.depends_on)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on)) {
        if (condition === 'service_healthy') t.ok(healthy(dep), `${name} waits for ${dep} to be healthy: ${dep} has a health check`)
        if (condition === 'service_completed_successfully') t.not(services[dep]!.restart, 'unless-stopped', `${dep} is a one-shot job: it must not be restarted forever`)
      }
    }
    const shared = /^service:(.+)$/.exec(s.network_mode ?? '')?.[1]
    if (shared !== undefined) {
      t.ok(shared in services, `${name} shares the network of a service that exists (${shared})`)
      t.same(s.ports ?? [], [], `${name} publishes nothing itself (compose refuses ports with network_mode)`)
    }
  }
  const hostPorts = Object.values(services).flatMap((s) => (s.ports ?? []).map((p) => p.split(':').slice(0, -1).join(':')))
  t.same(hostPorts, [...new Set(hostPorts)], 'no host port is published twice')
})

/** `docker compose` or `docker-compose`, whichever runs here (neither needs an engine for `config`). */
const composeCli = [['docker', 'compose'], ['docker-compose']].find((cmd) => {
  const r = spawnSync(cmd[0]!, [...cmd.slice(1), 'version'], { encoding: 'utf8', timeout: 30_000 })
  return r.error === undefined && r.status === 0
})

t.test('docker compose config accepts compose.yaml', { skip: composeCli === undefined && 'no docker compose / docker-compose here' }, async (t) => {
  const r = spawnSync(composeCli![0]!, [...composeCli!.slice(1), '-f', join(ROOT, 'compose.yaml'), 'config', '-q'], { encoding: 'utf8', timeout: 30_000 })
  t.equal(r.status, 0, `${composeCli!.join(' ')} config: ${r.stderr.trim()}`)
})
