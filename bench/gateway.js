// The gateway targets of bench/run.js: a rule (and filler rules, for the memory targets) per
// scenario, each run by its own `gatehouse serve` process. See bench/README.md.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { stopChild } from './baselines.js'

const HOST = '127.0.0.1'

const X_USER = { handler: 'header', config: { headers: { 'X-User': '{{ print .Subject }}' } } }

const NOOP = {
  enable: { authenticators: ['noop'], authorizers: ['allow'], mutators: ['noop'] },
  rule: () => ({ authenticators: [{ handler: 'noop' }], authorizer: { handler: 'allow' }, mutators: [{ handler: 'noop' }] }),
}

/** The rule counts of the memory targets. */
export const RULES_SMALL = 10
export const RULES_LARGE = 10_000

/**
 * The gateway scenarios, in the order they run. `rule(ctx)` gives the rule's handlers, where
 * ctx holds the token server's URLs (`ctx.server`) and the first-seen key set (`ctx.firstSeen`).
 * `logLevel`: the gateway's log.level when it is not bench/run.js's `--log-level`. `rules`: how
 * many rules the gateway loads (the measured one plus noop rules on other paths); default 1.
 * `token` names the bearer token every request carries (`opaque` or `jwt`, see bench/run.js);
 * `introspections` is how many introspection calls the token server must see per request once
 * the scenario is warm (checked before measuring). `tokenPerConnection`: each autocannon
 * connection sends a token of its own. The introspection client shares one call among
 * concurrent requests for the same token (single-flight), so with a single token a "miss"
 * scenario would mostly measure coalesced waits, not calls. `firstSeen`: every request carries
 * a token never sent before (bench/first-seen.js).
 */
export const GATEWAY_SCENARIOS = {
  'gateway-info': { ...NOOP, logLevel: 'info' },
  gateway: NOOP,
  'rules-10': { ...NOOP, rules: RULES_SMALL },
  'rules-10k': { ...NOOP, rules: RULES_LARGE },
  'introspection-hit': {
    token: 'opaque',
    introspections: 0,
    enable: { authenticators: ['oauth2_introspection'], authorizers: ['allow'], mutators: ['header'] },
    rule: (ctx) => ({
      authenticators: [{ handler: 'oauth2_introspection', config: { introspection_url: `${ctx.server.admin}/admin/oauth2/introspect`, cache: { enabled: true, ttl: '1h' } } }],
      authorizer: { handler: 'allow' },
      mutators: [X_USER],
    }),
  },
  'introspection-miss': {
    token: 'opaque',
    tokenPerConnection: true,
    introspections: 1,
    enable: { authenticators: ['oauth2_introspection'], authorizers: ['allow'], mutators: ['header'] },
    rule: (ctx) => ({
      authenticators: [{ handler: 'oauth2_introspection', config: { introspection_url: `${ctx.server.admin}/admin/oauth2/introspect`, cache: { enabled: false } } }],
      authorizer: { handler: 'allow' },
      mutators: [X_USER],
    }),
  },
  jwt: {
    token: 'jwt',
    enable: { authenticators: ['jwt'], authorizers: ['allow'], mutators: ['header'] },
    rule: (ctx) => ({
      authenticators: [{ handler: 'jwt', config: { jwks_urls: [`${ctx.server.public}/.well-known/jwks.json`] } }],
      authorizer: { handler: 'allow' },
      mutators: [X_USER],
    }),
  },
  'jwt-first-seen': {
    token: 'jwt',
    firstSeen: true,
    enable: { authenticators: ['jwt'], authorizers: ['allow'], mutators: ['header'] },
    rule: (ctx) => ({ authenticators: [{ handler: 'jwt', config: { jwks_urls: [ctx.firstSeen.jwksUrl] } }], authorizer: { handler: 'allow' }, mutators: [X_USER] }),
  },
}

/**
 * Writes the scenario's config and rule file (JSON, which the YAML loaders read) and spawns
 * `gatehouse serve`; resolves when `/health/ready` answers 200.
 * @returns {Promise<{ url: string, base: string, child: import('node:child_process').ChildProcess, stop: () => Promise<void> }>}
 *   `url` is what autocannon calls, `base` the proxy's origin
 */
export async function startGateway({ name, ctx, cli, cwd, tmp, upstream, logLevel, cpuProfDir }) {
  const scenario = GATEWAY_SCENARIOS[name]
  const [proxyPort, apiPort, metricsPort] = await freePorts(3)
  const base = `http://${HOST}:${proxyPort}`
  const rules = join(tmp, `${name}.rules.json`)
  // The gateway matches scheme://<Host header>/path, and autocannon sends the address it
  // calls as Host, so the rule names the gateway's own proxy address.
  const rule = { id: name, match: { url: `${base}/bench/<.*>`, methods: ['GET'] }, upstream: { url: upstream }, ...scenario.rule(ctx) }
  const all = [rule]
  // Filler rules on paths of their own, so the measured request still matches exactly one rule.
  for (let i = 1; i < (scenario.rules ?? 1); i++) all.push({ ...rule, ...NOOP.rule(), id: `svc-${i}`, match: { url: `${base}/svc-${i}/<.*>`, methods: ['GET'] } })
  writeFileSync(rules, JSON.stringify(all))
  const config = join(tmp, `${name}.gatehouse.json`)
  const enabled = (ids) => Object.fromEntries(ids.map((id) => [id, { enabled: true }]))
  writeFileSync(
    config,
    JSON.stringify(
      {
        // Every port picked here: the default metrics port (9000) may be taken on a shared machine.
        serve: { proxy: { port: proxyPort, host: HOST }, api: { port: apiPort, host: HOST }, prometheus: { port: metricsPort, host: HOST } },
        access_rules: { repositories: [rules] },
        authenticators: enabled(scenario.enable.authenticators),
        authorizers: enabled(scenario.enable.authorizers),
        mutators: enabled(scenario.enable.mutators),
        log: { level: scenario.logLevel ?? logLevel, format: 'json' },
      },
      null,
      2,
    ),
  )
  const nodeArgs = cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `${name}.cpuprofile`]
  // stdout (the per-request log lines) goes to /dev/null: written, as in production, not shown.
  const child = spawn(process.execPath, [...nodeArgs, cli, 'serve', '-c', config], { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (c) => {
    stderr += c
    process.stderr.write(c)
  })
  // A graceful exit is what writes the CPU profile; give it time, then insist.
  const stop = () => stopChild(child, 'SIGTERM', 10_000)
  const ready = `http://${HOST}:${apiPort}/health/ready`
  // Loading and checking 10,000 rules takes seconds on a busy machine.
  const deadline = Date.now() + 60_000
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`gateway (${name}) exited with ${child.exitCode}:\n${stderr}`)
      const status = await fetch(ready).then((r) => r.status, () => 0)
      if (status === 200) break
      if (Date.now() > deadline) throw new Error(`gateway (${name}) not ready after 60 s (last status ${status}):\n${stderr}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { url: `${base}/bench/x`, base, child, stop }
}

/** Ports that were free a moment ago (the gateway and nginx need them before they start). */
export async function freePorts(n) {
  const servers = []
  for (let i = 0; i < n; i++) {
    const s = createServer()
    await new Promise((r) => s.listen(0, HOST, r))
    servers.push(s)
  }
  const ports = servers.map((s) => s.address().port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}
