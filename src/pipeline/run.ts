import { GatehouseError } from '../errors.js'
import type { CompiledRule, ErrorStep, PipelineStep } from '../rules/compile.js'
import type { AuthenticationSession, PipelineRequest } from './session.js'
import type { PipelineTrace } from './trace.js'
import type { ErrorResponse } from './types.js'

/**
 * Runs a rule's authenticators (first responsible wins), authorizer and mutators on `session`.
 * Resolves when the request may proceed; rejects with a GatehouseError otherwise.
 * Handlers may answer synchronously: results are only awaited when they are promises, which
 * saves a microtask turn per step for the common noop/allow/header rules.
 * Each step's outcome is counted on its pre-bound counters (plain number fields, see
 * observability/stats.ts): an increment per step, nothing built per request.
 * `trace` (explain only) records each step's outcome; without it nothing is recorded or built.
 */
export async function runPipeline(rule: CompiledRule, req: PipelineRequest, session: AuthenticationSession, trace?: PipelineTrace): Promise<void> {
  // The step that is running, blamed if it throws.
  let current: PipelineStep<unknown> | undefined
  let index = 0
  try {
    let authenticated = false
    for (index = 0; index < rule.authenticators.length; index++) {
      const a = rule.authenticators[index]!
      current = a
      const r = a.run(req, session)
      if (r === true || (r !== false && (await r))) {
        a.outcomes.authenticated++
        trace?.record({ kind: 'authenticator', handler: a.id, index, outcome: 'authenticated', subject: session.Subject })
        authenticated = true
        break
      }
      a.outcomes.not_responsible++
      trace?.record({ kind: 'authenticator', handler: a.id, index, outcome: 'not_responsible' })
    }
    if (!authenticated) {
      // Every authenticator was counted as not responsible; the 401 is the rule's, not theirs.
      current = undefined
      throw new GatehouseError('GATEHOUSE_ERR_NO_AUTHENTICATOR', {
        reason: `no authenticator of rule "${rule.id}" was responsible for the request`,
      })
    }
    current = rule.authorizer
    index = 0
    const z = rule.authorizer.run(req, session)
    if (z !== undefined) await z
    rule.authorizer.outcomes.allowed++
    trace?.record({ kind: 'authorizer', handler: rule.authorizer.id, index, outcome: 'allowed' })
    for (index = 0; index < rule.mutators.length; index++) {
      const m = rule.mutators[index]!
      current = m
      const r = m.run(req, session)
      if (r !== undefined) await r
      m.outcomes.mutated++
      trace?.record({ kind: 'mutator', handler: m.id, index, outcome: 'mutated' })
    }
  } catch (err) {
    current?.outcomes.failed(err)
    if (trace !== undefined && current !== undefined) trace.record({ kind: current.outcomes.kind, handler: current.id, index, outcome: 'failed', error: err })
    throw err
  }
}

/**
 * Picks the error handler for an error as Oathkeeper does: the rule's `errors` list in order,
 * the first whose `when` (the rule's config merged over the global one) matches; then the
 * `errors.fallback` list in order, each with its global `when`; the first that matches answers.
 * When none matches, a plain JSON 500: no handler was configured for this error, and answering
 * with a handler whose `when` excludes it (or with its status) would hide that.
 */
export function renderError(
  err: GatehouseError,
  req: PipelineRequest,
  ruleHandlers: readonly ErrorStep[] | undefined,
  fallback: readonly ErrorStep[],
): ErrorResponse {
  const h = selectErrorHandler(err, req, ruleHandlers, fallback)
  return h === undefined ? NO_ERROR_HANDLER : h.run(err, req)
}

/** The error handler renderError would use; undefined when none is responsible. */
export function selectErrorHandler(
  err: GatehouseError,
  req: PipelineRequest,
  ruleHandlers: readonly ErrorStep[] | undefined,
  fallback: readonly ErrorStep[],
): ErrorStep | undefined {
  if (ruleHandlers !== undefined) {
    for (const h of ruleHandlers) if (h.when(err, req)) return h
  }
  for (const h of fallback) if (h.when(err, req)) return h
  return undefined
}

/** Which error handler renderError picks (same order), and from which list; undefined when none is responsible. */
export function chooseErrorHandler(
  err: GatehouseError,
  req: PipelineRequest,
  ruleHandlers: readonly ErrorStep[] | undefined,
  fallback: readonly ErrorStep[],
): { readonly step: ErrorStep; readonly from: 'rule' | 'fallback'; readonly index: number } | undefined {
  if (ruleHandlers !== undefined) {
    for (let i = 0; i < ruleHandlers.length; i++) if (ruleHandlers[i]!.when(err, req)) return { step: ruleHandlers[i]!, from: 'rule', index: i }
  }
  for (let i = 0; i < fallback.length; i++) if (fallback[i]!.when(err, req)) return { step: fallback[i]!, from: 'fallback', index: i }
  return undefined
}

/**
 * Oathkeeper's answer when no error handler is responsible, in herodot's JSON shape. One frozen
 * object, so callers can tell it apart (and log the configuration problem).
 */
export const NO_ERROR_HANDLER: ErrorResponse = Object.freeze({
  status: 500,
  headers: Object.freeze({ 'content-type': 'application/json' }),
  // The original error stays out: this answer is about the configuration, and a client must
  // not learn more than a handler would have told it.
  body: `${JSON.stringify({
    error: {
      code: 500,
      status: 'Internal Server Error',
      message: "No error handler is responsible for this error: check errors.fallback and the handlers' when conditions",
    },
  })}\n`,
})
