import { GatehouseError } from '../errors.js'
import type { CompiledRule, ErrorStep, PipelineStep } from '../rules/compile.js'
import type { AuthenticationSession, PipelineRequest } from './session.js'
import type { ErrorResponse } from './types.js'

/**
 * Runs a rule's authenticators (first responsible wins), authorizer and mutators on `session`.
 * Resolves when the request may proceed; rejects with a GatehouseError otherwise.
 * Handlers may answer synchronously: results are only awaited when they are promises, which
 * saves a microtask turn per step for the common noop/allow/header rules.
 * Each step's outcome is counted on its pre-bound counters (plain number fields, see
 * observability/stats.ts): an increment per step, nothing built per request.
 */
export async function runPipeline(rule: CompiledRule, req: PipelineRequest, session: AuthenticationSession): Promise<void> {
  // The step that is running, blamed if it throws.
  let current: PipelineStep<unknown> | undefined
  try {
    let authenticated = false
    for (const a of rule.authenticators) {
      current = a
      const r = a.run(req, session)
      if (r === true || (r !== false && (await r))) {
        a.outcomes.authenticated++
        authenticated = true
        break
      }
      a.outcomes.not_responsible++
    }
    if (!authenticated) {
      // Every authenticator was counted as not responsible; the 401 is the rule's, not theirs.
      current = undefined
      throw new GatehouseError('GATEHOUSE_ERR_NO_AUTHENTICATOR', {
        reason: `no authenticator of rule "${rule.id}" was responsible for the request`,
      })
    }
    current = rule.authorizer
    const z = rule.authorizer.run(req, session)
    if (z !== undefined) await z
    rule.authorizer.outcomes.allowed++
    for (const m of rule.mutators) {
      current = m
      const r = m.run(req, session)
      if (r !== undefined) await r
      m.outcomes.mutated++
    }
  } catch (err) {
    current?.outcomes.failed(err)
    throw err
  }
}

/**
 * Picks the error handler for an error: the rule's handlers (or, when the rule names none, the
 * globally enabled ones) in order, the first whose `when` matches; otherwise the first fallback.
 */
export function renderError(
  err: GatehouseError,
  req: PipelineRequest,
  ruleHandlers: readonly ErrorStep[] | undefined,
  globalHandlers: readonly ErrorStep[],
  fallback: readonly ErrorStep[],
): ErrorResponse {
  const candidates = ruleHandlers !== undefined && ruleHandlers.length > 0 ? ruleHandlers : globalHandlers
  for (const h of candidates) {
    if (h.when(err, req)) return h.run(err, req)
  }
  const f = fallback[0]
  if (f !== undefined) return f.run(err, req)
  // Only reachable when errors.fallback is empty: answer plainly rather than hang the client.
  return { status: err.status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: err.message }
}
