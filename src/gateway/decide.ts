import type { Logger } from 'pino'
import { toGatehouseError, type GatehouseError } from '../errors.js'
import type { GatewayMetrics } from '../observability/metrics.js'
import { NO_ERROR_HANDLER, renderError, runPipeline } from '../pipeline/run.js'
import { newSession, type AuthenticationSession } from '../pipeline/session.js'
import type { ErrorResponse } from '../pipeline/types.js'
import type { CompiledRule, ErrorStep } from '../rules/compile.js'
import type { PathPolicy } from './normalize.js'
import type { GatewayRequest } from './request.js'
import type { RuleSet } from './rule-set.js'

/** What the proxy and the decision API share: the current rules and the fallback error handlers. */
export interface DecisionDeps {
  /** The current rule set; read once per request so one request never sees two sets. */
  readonly rules: () => RuleSet
  /** `errors.fallback`, in order, with their global `when`. */
  readonly fallbackErrors: readonly ErrorStep[]
  /** How request paths are checked (`serve.allow_double_encoded_paths`). */
  readonly paths: PathPolicy
  readonly logger: Logger
  /** Where requests without a rule, and upstream failures, are counted (rules carry their own stats). */
  readonly metrics: GatewayMetrics
}

export type Decision =
  | { readonly ok: true; readonly rule: CompiledRule; readonly session: AuthenticationSession }
  | { readonly ok: false; readonly rule: CompiledRule | undefined; readonly error: GatehouseError }

/** Matches the request and runs the rule's pipeline. Never throws. */
export async function decide(deps: DecisionDeps, req: GatewayRequest): Promise<Decision> {
  let rule: CompiledRule | undefined
  try {
    const m = deps.rules().match(req.method, req.matchUrl)
    rule = m.rule
    const session = newSession(req, m.captures)
    await runPipeline(m.rule, req, session)
    return { ok: true, rule, session }
  } catch (err) {
    return { ok: false, rule, error: toGatehouseError(err) }
  }
}

/** The error handler's answer for a failed decision. */
export function errorResponse(deps: DecisionDeps, req: GatewayRequest, rule: CompiledRule | undefined, err: GatehouseError): ErrorResponse {
  const r = renderError(err, req, rule?.errors, deps.fallbackErrors)
  if (r === NO_ERROR_HANDLER) {
    deps.logger.error({ request_id: req.requestId, rule: rule?.id, code: err.code }, 'no error handler is responsible for this error; answered 500 (see errors.fallback and the when conditions)')
  }
  return r
}
