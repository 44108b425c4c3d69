import { randomUUID } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { GatehouseError, toGatehouseError } from '../errors.js'
import { chooseErrorHandler, runPipeline } from '../pipeline/run.js'
import { newSession } from '../pipeline/session.js'
import { PipelineTrace, type TraceStep } from '../pipeline/trace.js'
import type { CompiledRule } from '../rules/compile.js'
import type { DecisionDeps } from './decide.js'
import { fingerprint, redactHeaders, redactText } from './redact.js'
import { GatewayRequest, pipelineHeaders, splitTarget } from './request.js'

/** What explain needs beyond the decision's deps. */
export interface ExplainDeps extends DecisionDeps {
  /** `serve.proxy.trust_forwarded_headers`: untrusted X-Forwarded-* are dropped, as the proxy does. */
  readonly trustForwardedHeaders: boolean
}

/** What to explain: a request as a client would send it. */
export interface ExplainInput {
  readonly method: string
  /** Absolute URL, e.g. http://127.0.0.1:4455/api/users?x=1. */
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

export interface StepReport {
  readonly handler: string
  readonly outcome: TraceStep['outcome'] | 'not_run'
  /** Authenticated: as whom. */
  readonly subject?: string
  /** Not responsible or failed: why (redacted). */
  readonly reason?: string
  /** Failed: the error's code and status. */
  readonly code?: string
  readonly status?: number
}

/** Everything `gatehouse rules explain` prints; nothing in it is a secret or a whole token. */
export interface Explanation {
  readonly request: { readonly method: string; readonly url: string; readonly matched_url: string; readonly headers: Record<string, string> }
  readonly rules: {
    /** Rules whose match.url matches, with whether the method does too. */
    readonly candidates: readonly { readonly id: string; readonly source: string; readonly method_matches: boolean; readonly methods: readonly string[] }[]
    readonly matched: string | null
    readonly why: string
  }
  readonly authenticators: readonly StepReport[]
  readonly authorizer: StepReport | null
  readonly mutators: readonly StepReport[]
  /** The headers the mutators set for the upstream (redacted), without Cookie. */
  readonly headers: Record<string, string>
  /** The cookies the mutators set (values fingerprinted). */
  readonly cookies: Record<string, string>
  readonly result: { readonly allowed: boolean; readonly status: number; readonly code?: string; readonly reason?: string }
  readonly error_handler: { readonly handler: string; readonly from: 'rule' | 'fallback'; readonly index: number } | null
}

/** Turns an explain input into the request the pipeline sees; throws a 400 GatehouseError for a bad URL. */
function requestOf(input: ExplainInput, deps: ExplainDeps): GatewayRequest {
  let url: URL
  try {
    url = new URL(input.url)
  } catch {
    throw new GatehouseError('GATEHOUSE_ERR_BAD_REQUEST', { reason: `"${input.url}" is not an absolute URL` })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new GatehouseError('GATEHOUSE_ERR_BAD_REQUEST', { reason: 'the URL must be http or https' })
  const headers: IncomingHttpHeaders = { host: url.host }
  for (const [name, value] of Object.entries(input.headers)) headers[name.toLowerCase()] = value
  const { path, matchPath, search } = splitTarget(`${url.pathname}${url.search}`, deps.paths)
  // As the proxy: the pipeline sees the headers a proxied request would reach it with.
  const seen = pipelineHeaders(headers, deps.trustForwardedHeaders)
  const target = { method: input.method.toUpperCase(), scheme: url.protocol.slice(0, -1), host: url.host, path, matchPath, search }
  return new GatewayRequest(target, seen, '127.0.0.1', `explain-${randomUUID()}`)
}

/**
 * Runs the real match and pipeline for one request, as the proxy would receive it, with a
 * trace, and reports every step. Remote
 * calls (introspection, JWKS, remote authorizers) really happen. Never throws for a request
 * the gateway would answer; throws a GatehouseError for an input that is not a request.
 */
export async function explain(deps: ExplainDeps, input: ExplainInput): Promise<Explanation> {
  const req = requestOf(input, deps)
  const set = deps.rules()
  const candidates = set.rules
    .filter((r) => r.matcher.match(req.matchUrl) !== null)
    .map((r) => ({ id: r.id, source: r.source, method_matches: r.methods.has(req.method), methods: [...r.methods] }))
  const trace = new PipelineTrace()
  let rule: CompiledRule | undefined
  let error: GatehouseError | undefined
  let session
  try {
    const m = set.match(req.method, req.matchUrl)
    rule = m.rule
    session = newSession(req, m.captures)
    await runPipeline(m.rule, req, session, trace)
  } catch (err) {
    error = toGatehouseError(err)
  }
  const handler = error === undefined ? undefined : chooseErrorHandler(error, req, rule?.errors, deps.fallbackErrors)
  const header = { ...(session?.Header ?? {}) }
  const cookieName = Object.keys(header).find((n) => n.toLowerCase() === 'cookie')
  const cookies: Record<string, string> = {}
  if (cookieName !== undefined) {
    for (const part of header[cookieName]!.split(';')) {
      const eq = part.indexOf('=')
      if (eq > 0) cookies[part.slice(0, eq).trim()] = fingerprint(part.slice(eq + 1).trim())
    }
    delete header[cookieName]
  }
  return {
    request: { method: req.method, url: redactText(input.url), matched_url: redactText(req.matchUrl), headers: redactHeaders(req.headers) },
    rules: { candidates, matched: rule?.id ?? null, why: redactText(whyMatched(req.method, req.matchUrl, candidates, rule)) },
    authenticators: rule === undefined ? [] : rule.authenticators.map((a, i) => report(rule!, trace, 'authenticator', i, a.id)),
    authorizer: rule === undefined ? null : report(rule, trace, 'authorizer', 0, rule.authorizer.id),
    mutators: rule === undefined ? [] : rule.mutators.map((m, i) => report(rule!, trace, 'mutator', i, m.id)),
    headers: redactHeaders(header),
    cookies,
    result:
      error === undefined
        ? { allowed: true, status: 200 }
        : { allowed: false, status: error.status, code: error.code, reason: redactText(error.reason ?? error.message) },
    error_handler: handler === undefined ? null : { handler: handler.step.id, from: handler.from, index: handler.index },
  }
}

function whyMatched(method: string, url: string, candidates: Explanation['rules']['candidates'], rule: CompiledRule | undefined): string {
  const both = candidates.filter((c) => c.method_matches)
  if (rule !== undefined) return `rule "${rule.id}" (${rule.source}) is the only rule whose match.url and methods match ${method} ${url}`
  if (both.length > 1) return `several rules match ${method} ${url}: ${both.map((c) => `"${c.id}" (${c.source})`).join(', ')}; exactly one must (500)`
  if (candidates.length > 0) {
    return `no rule matches ${method} ${url}: ${candidates.map((c) => `"${c.id}" matches the URL but allows only ${c.methods.join(', ') || 'no method'}`).join('; ')}`
  }
  return `no rule's match.url matches ${url} (404)`
}

function report(rule: CompiledRule, trace: PipelineTrace, kind: TraceStep['kind'], index: number, handler: string): StepReport {
  const step = trace.steps.find((s) => s.kind === kind && s.index === index)
  if (step === undefined) return { handler, outcome: 'not_run' }
  switch (step.outcome) {
    case 'authenticated':
      return { handler, outcome: step.outcome, subject: redactText(step.subject ?? '') }
    case 'not_responsible':
      return { handler, outcome: step.outcome, reason: notResponsibleReason(handler, rule.spec.authenticators?.[index]?.config) }
    case 'failed': {
      const e = toGatehouseError(step.error)
      return { handler, outcome: step.outcome, code: e.code, status: e.status, reason: redactText(e.reason ?? e.message) }
    }
    default:
      return { handler, outcome: step.outcome }
  }
}

/**
 * Why an authenticator declined: what each one looks for, from its id and the rule's config.
 * Authenticators answer "not responsible" with a plain false (the hot path builds no reason),
 * so the reason is derived here from what they check.
 */
function notResponsibleReason(handler: string, config: Readonly<Record<string, unknown>> | undefined): string {
  switch (handler) {
    case 'anonymous':
      return 'the request carries an Authorization header: credentials are for another authenticator'
    case 'jwt':
      return `no JWT-shaped token (three dot-separated parts) in ${tokenPlace(config)}`
    case 'oauth2_introspection':
    case 'bearer_token': {
      const prefix = typeof config?.prefix === 'string' && config.prefix !== '' ? ` starting with "${config.prefix}"` : ''
      return `no token${prefix} in ${tokenPlace(config)}`
    }
    case 'cookie_session': {
      const only = Array.isArray(config?.only) && config.only.length > 0 ? `none of the cookies ${config.only.join(', ')}` : 'no cookie'
      return `${only} in the request`
    }
    case 'oauth2_client_credentials':
      return 'no Authorization: Basic header with client credentials'
    default:
      return 'the request carries no credentials this authenticator handles'
  }
}

function tokenPlace(config: Readonly<Record<string, unknown>> | undefined): string {
  const from = config?.token_from as Record<string, string> | undefined
  if (from?.header !== undefined) return `header ${from.header}`
  if (from?.query_parameter !== undefined) return `query parameter ${from.query_parameter}`
  if (from?.cookie !== undefined) return `cookie ${from.cookie}`
  return 'Authorization: Bearer (or where the global token_from says)'
}
