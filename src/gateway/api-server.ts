import type { IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import { toGatehouseError } from '../errors.js'
import { traceContextOf } from '../observability/trace-context.js'
import type { AuthenticationSession } from '../pipeline/session.js'
import type { SourceStatus } from '../rules/loader.js'
import type { CompiledRule } from '../rules/compile.js'
import type { LintFinding } from '../rules/lint.js'
import { VERSION } from '../version.js'
import { setHeaderList, type Cors } from './cors.js'
import { decide, errorResponse, type DecisionDeps } from './decide.js'
import type { ExplainInput, Explanation } from './explain.js'
import { decisionTarget, GatewayRequest, requestIdOf, type RequestTarget } from './request.js'
import { sendErrorResponse, sendJson, statusForLog } from './respond.js'

export interface ApiDeps extends DecisionDeps {
  /** False until a rule set with at least one valid rule is in force. */
  readonly isReady: () => boolean
  /** True once shutdown has begun: readiness fails so that load balancers stop sending traffic. */
  readonly isDraining: () => boolean
  /** Each source with the overlap analysis' findings about its rules. */
  readonly ruleStatus: () => (SourceStatus & { readonly findings: readonly LintFinding[] })[]
  /** The public keys of the id_token mutators' signers, served at `/.well-known/jwks.json`. */
  readonly jwks: () => Promise<unknown>
  /** `serve.api.cors` compiled (for the whole API, as Oathkeeper); undefined when CORS is off. */
  readonly cors?: Cors | undefined
  /** `POST /rules/explain`, when `serve.api.explain.enabled`; undefined (404) otherwise. */
  readonly explain?: ((input: ExplainInput) => Promise<Explanation>) | undefined
}

/** The largest explain request body: a method, a URL and some headers. */
const EXPLAIN_BODY_LIMIT = 64 * 1024

const UNPARSEABLE: RequestTarget = { method: 'GET', scheme: 'http', host: '', path: '/', search: '' }

/** Oathkeeper's JSON view of a rule (the rule as written, with its id). */
function ruleJson(r: CompiledRule): unknown {
  return r.spec
}

/**
 * The decision API (`/decisions/*`, used by nginx auth_request, Traefik forwardAuth, Envoy
 * ext_authz) and the management API (rules, health, version) on one port, as Oathkeeper.
 */
export function createApiHandler(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, cors } = deps
  const unmatched = deps.metrics.unmatched('api')

  async function decision(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now()
    const requestId = requestIdOf(req.headers)
    const trace = traceContextOf(req.headers)
    /** Counts the decision (on the rule's pre-bound stats) and writes its log line. */
    const finish = (method: string | undefined, path: string | undefined, rule: CompiledRule | undefined, code?: string): void => {
      const ms = performance.now() - started
      const status = statusForLog(res)
      ;(rule?.stats.api ?? unmatched).record(method ?? 'GET', status, ms / 1000)
      logger.info(
        { request_id: requestId, trace_id: trace.traceId, method, path, rule: rule?.id, status, code, duration_ms: Math.round(ms * 1000) / 1000 },
        'decision',
      )
    }
    let greq: GatewayRequest
    try {
      greq = new GatewayRequest(decisionTarget(req, deps.paths), req.headers, req.socket.remoteAddress ?? '', requestId, req, trace)
    } catch (err) {
      const r = new GatewayRequest(UNPARSEABLE, req.headers, req.socket.remoteAddress ?? '', requestId, undefined, trace)
      const e = toGatehouseError(err)
      sendErrorResponse(res, errorResponse(deps, r, undefined, e))
      finish(req.method, req.url, undefined, e.code)
      return
    }
    const d = await decide(deps, greq)
    if (d.ok) {
      res.writeHead(200, { ...answerHeaders(req, d.session), 'content-length': '0' })
      res.end()
    } else {
      if (d.error.status >= 500) logger.error({ request_id: requestId, rule: d.rule?.id, code: d.error.code, reason: d.error.reason }, 'decision failed')
      sendErrorResponse(res, errorResponse(deps, greq, d.rule, d.error))
    }
    finish(greq.method, greq.target.path, d.rule, d.ok ? undefined : d.error.code)
  }

  function management(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, apiError(405, 'Method Not Allowed', `${req.method} is not allowed here`), { allow: 'GET, HEAD' })
      return
    }
    switch (path) {
      case '/health/alive':
        return sendJson(res, 200, { status: 'ok' })
      case '/health/ready':
        if (deps.isDraining()) return sendJson(res, 503, { errors: { shutdown: 'the gateway is shutting down' } })
        return deps.isReady()
          ? sendJson(res, 200, { status: 'ok' })
          : sendJson(res, 503, { errors: { rules: 'no valid access rule is loaded' } })
      case '/version':
        return sendJson(res, 200, { version: VERSION })
      case '/rules/status':
        return sendJson(res, 200, deps.ruleStatus())
      case '/.well-known/jwks.json':
        deps.jwks().then(
          (set) => sendJson(res, 200, set),
          (err: unknown) => {
            logger.error({ err }, 'could not load the id_token signing keys')
            sendJson(res, 500, apiError(500, 'Internal Server Error', 'The JSON Web Key Set could not be loaded'))
          },
        )
        return
      case '/rules': {
        const limit = intParam(query.get('limit'), 100, 1, 500)
        const offset = intParam(query.get('offset'), 0, 0, Number.MAX_SAFE_INTEGER)
        return sendJson(res, 200, deps.rules().rules.slice(offset, offset + limit).map(ruleJson))
      }
    }
    if (path.startsWith('/rules/')) {
      const id = decodeURIComponent(path.slice('/rules/'.length))
      const rule = deps.rules().get(id)
      if (rule !== undefined) return sendJson(res, 200, ruleJson(rule))
      return sendJson(res, 404, apiError(404, 'Not Found', `rule "${id}" does not exist`))
    }
    sendJson(res, 404, apiError(404, 'Not Found', `no such endpoint: ${path}`))
  }

  /** `POST /rules/explain` with `{"method","url","headers"}`: the explanation as JSON. */
  async function explainRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (deps.explain === undefined) {
      req.resume()
      return sendJson(res, 404, apiError(404, 'Not Found', 'POST /rules/explain is off: set serve.api.explain.enabled to true in the gateway config'))
    }
    if (req.method !== 'POST') {
      req.resume()
      return sendJson(res, 405, apiError(405, 'Method Not Allowed', `${req.method} is not allowed here`), { allow: 'POST' })
    }
    const input = explainInput(await readJson(req))
    if (typeof input === 'string') return sendJson(res, 400, apiError(400, 'Bad Request', input))
    try {
      const answer = await deps.explain(input)
      logger.info({ method: input.method, rule: answer.rules.matched, status: answer.result.status }, 'rules explained')
      sendJson(res, 200, answer)
    } catch (err) {
      const e = toGatehouseError(err)
      sendJson(res, e.status, apiError(e.status, 'Bad Request', e.reason ?? e.message))
    }
  }

  return (req, res) => {
    if (cors !== undefined) {
      // Answered before routing: a preflight carries no credentials and asks nothing of a rule.
      if (cors.isPreflight(req)) return cors.answerPreflight(req, res)
      // Every answer here is written with an object of headers, which keeps these.
      setHeaderList(res, cors.actualHeaders(req))
    }
    const url = req.url ?? '/'
    if (url === '/decisions' || url.startsWith('/decisions/') || url.startsWith('/decisions?')) {
      decision(req, res).catch((err: unknown) => {
        logger.error({ err }, 'unhandled error in decision handler')
        if (!res.headersSent) sendJson(res, 500, apiError(500, 'Internal Server Error', 'An internal server error occurred'))
        else res.destroy()
      })
      return
    }
    const q = url.indexOf('?')
    if ((q === -1 ? url : url.slice(0, q)) === '/rules/explain') {
      explainRoute(req, res).catch((err: unknown) => {
        logger.error({ err }, 'unhandled error in explain handler')
        if (!res.headersSent) sendJson(res, 500, apiError(500, 'Internal Server Error', 'An internal server error occurred'))
      })
      return
    }
    try {
      management(req, res, q === -1 ? url : url.slice(0, q), new URLSearchParams(q === -1 ? '' : url.slice(q + 1)))
    } catch (err) {
      logger.error({ err }, 'unhandled error in API handler')
      if (!res.headersSent) sendJson(res, 400, apiError(400, 'Bad Request', 'The request could not be handled'))
    }
  }
}

/**
 * Headers a request may carry that describe its own connection or body, never the answer:
 * Oathkeeper skips Content-Length, and Go keeps Host and the hop-by-hop ones out of what it copies.
 */
const NOT_ANSWERED: ReadonlySet<string> = new Set([
  'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'expect',
])

/**
 * The headers of an allowed decision: the session's, over the request's own when the `noop`
 * mutator ran (as Oathkeeper's noop). Names compared case-insensitively, so a session header
 * replaces the request's rather than being sent twice.
 */
function answerHeaders(req: IncomingMessage, session: AuthenticationSession): Record<string, string | string[]> {
  if (session.withRequestHeaders !== true) return session.Header
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !NOT_ANSWERED.has(name)) out[name] = value
  }
  for (const [name, value] of Object.entries(session.Header)) {
    delete out[name.toLowerCase()]
    out[name] = value
  }
  return out
}

function apiError(code: number, status: string, message: string): unknown {
  return { error: { code, status, message } }
}

function intParam(v: string | null, dflt: number, min: number, max: number): number {
  if (v === null || !/^\d+$/.test(v)) return dflt
  return Math.min(max, Math.max(min, Number(v)))
}

/** The request body parsed as JSON; undefined when it is not JSON or longer than the limit. */
function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size <= EXPLAIN_BODY_LIMIT) chunks.push(c)
    })
    req.on('end', () => {
      if (size > EXPLAIN_BODY_LIMIT) return resolve(undefined)
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
      } catch {
        resolve(undefined)
      }
    })
    req.on('error', () => resolve(undefined))
  })
}

/** The explain input in a request body, or what is wrong with it. */
function explainInput(body: unknown): ExplainInput | string {
  if (body === null || typeof body !== 'object') return `the body must be a JSON object {"method", "url", "headers"} of at most ${EXPLAIN_BODY_LIMIT} bytes`
  const { method = 'GET', url, headers = {} } = body as Record<string, unknown>
  if (typeof method !== 'string' || !/^[A-Za-z]+$/.test(method)) return '"method" must be an HTTP method'
  if (typeof url !== 'string') return '"url" must be an absolute URL'
  if (headers === null || typeof headers !== 'object' || Object.values(headers).some((v) => typeof v !== 'string')) {
    return '"headers" must be an object of strings'
  }
  return { method, url, headers: headers as Record<string, string> }
}
