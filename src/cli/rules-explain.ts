import { Command } from 'commander'
import { request } from 'undici'
import { GatehouseError } from '../errors.js'
import type { Explanation, StepReport } from '../gateway/explain.js'
import { collect } from './options.js'

interface ExplainOptions {
  config: string[]
  endpoint?: string
  method: string
  header: string[]
  format: string
}

/** `gatehouse rules explain`: how the rules treat one request, step by step. */
export function explainCommand(): Command {
  return new Command('explain')
    .description(
      'show how the rules treat a request: candidate and matched rules, each authenticator\'s answer, the authorizer, the headers and cookies the mutators set, the error handler; secrets and tokens are shown as fingerprints',
    )
    .argument('<url>', 'the absolute URL the client requests, e.g. http://127.0.0.1:4455/api/users')
    .option('-c, --config <file>', 'gateway config: runs its rules in-process (remote calls really happen)', collect, [])
    .option('-e, --endpoint <url>', 'or ask a running gateway: its API endpoint (needs serve.api.explain.enabled), e.g. http://127.0.0.1:4456')
    .option('-X, --method <method>', 'request method', 'GET')
    .option('-H, --header <header>', "request header 'Name: value' (repeatable)", collect, [])
    .option('--format <format>', 'text or json', 'text')
    .action(async (url: string, opts: ExplainOptions) => {
      if ((opts.config.length > 0) === (opts.endpoint !== undefined)) {
        process.stderr.write('give either -c <gateway config> or --endpoint <gateway API URL>\n')
        process.exitCode = 2
        return
      }
      const headers: Record<string, string> = {}
      for (const h of opts.header) {
        const colon = h.indexOf(':')
        if (colon <= 0) {
          process.stderr.write(`-H "${h}": expected 'Name: value'\n`)
          process.exitCode = 2
          return
        }
        headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim()
      }
      const input = { method: opts.method.toUpperCase(), url, headers }
      let answer: Explanation | undefined
      try {
        answer = opts.endpoint !== undefined ? await remote(opts.endpoint, input) : await local(opts.config, input)
      } catch (err) {
        // A URL that is not one: say what is wrong with it, not the client-facing "malformed".
        if (!(err instanceof GatehouseError)) throw err
        process.stderr.write(`${err.reason ?? err.message}\n`)
        process.exitCode = 2
        return
      }
      if (answer === undefined) return
      process.stdout.write(opts.format === 'json' ? `${JSON.stringify(answer, null, 2)}\n` : text(answer))
    })
}

async function local(configFiles: readonly string[], input: { method: string; url: string; headers: Record<string, string> }): Promise<Explanation | undefined> {
  const { loadConfigOrExit } = await import('./serve.js')
  const { createGateway } = await import('../gateway/gateway.js')
  const { createLogger } = await import('../observability/logger.js')
  const config = await loadConfigOrExit(configFiles)
  // Handlers' own warnings go to stderr; stdout is the explanation.
  const logger = createLogger({ level: 'error', format: 'text' }, process.stderr)
  const gateway = createGateway(config, logger)
  try {
    await gateway.loader.start()
    for (const s of gateway.loader.status()) if (s.error !== null) process.stderr.write(`warning: ${s.error}\n`)
    return await gateway.explain(input)
  } finally {
    await gateway.close()
  }
}

async function remote(endpoint: string, input: unknown): Promise<Explanation | undefined> {
  const url = new URL('rules/explain', endpoint.endsWith('/') ? endpoint : `${endpoint}/`)
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  })
  const body = await res.body.text()
  if (res.statusCode !== 200) {
    process.stderr.write(`POST /rules/explain answered ${res.statusCode}: ${body}`)
    process.exitCode = 1
    return undefined
  }
  return JSON.parse(body) as Explanation
}

function step(kind: string, s: StepReport): string {
  const detail = s.subject !== undefined ? ` as "${s.subject}"` : s.code !== undefined ? `: ${s.code} (${s.status}) ${s.reason}` : s.reason !== undefined ? `: ${s.reason}` : ''
  return `  ${kind.padEnd(14)} ${s.handler.padEnd(26)} ${s.outcome.replace('_', ' ')}${detail}\n`
}

/** The explanation for a terminal. */
function text(e: Explanation): string {
  let out = `request   ${e.request.method} ${e.request.url}\n`
  for (const [n, v] of Object.entries(e.request.headers)) out += `          ${n}: ${v}\n`
  out += '\nrules\n'
  if (e.rules.candidates.length === 0) out += '  (no rule matches the URL)\n'
  for (const c of e.rules.candidates) {
    out += `  ${c.id === e.rules.matched ? '*' : ' '} ${c.id}  ${c.source}  methods ${c.methods.join(',') || '(none)'}${c.method_matches ? '' : '  (method does not match)'}\n`
  }
  out += `  ${e.rules.why}\n`
  if (e.rules.matched !== null) {
    out += '\npipeline\n'
    for (const a of e.authenticators) out += step('authenticator', a)
    if (e.authorizer !== null) out += step('authorizer', e.authorizer)
    for (const m of e.mutators) out += step('mutator', m)
  }
  const headers = Object.entries(e.headers)
  const cookies = Object.entries(e.cookies)
  if (headers.length + cookies.length > 0) {
    out += '\nset for the upstream\n'
    for (const [n, v] of headers) out += `  header ${n}: ${v}\n`
    for (const [n, v] of cookies) out += `  cookie ${n}=${v}\n`
  }
  out += `\nresult    ${e.result.allowed ? 'allowed (200)' : `${e.result.status} ${e.result.code}: ${e.result.reason}`}\n`
  if (!e.result.allowed) {
    out += `error     ${e.error_handler === null ? 'no error handler is responsible: plain 500' : `${e.error_handler.handler} (${e.error_handler.from === 'rule' ? `the rule's errors[${e.error_handler.index}]` : `errors.fallback[${e.error_handler.index}]`})`}\n`
  }
  return out
}
