import type { StepKind } from '../observability/stats.js'

/** One step of a traced pipeline run, as `gatehouse rules explain` reports it. */
export interface TraceStep {
  readonly kind: StepKind
  /** The handler id, e.g. 'oauth2_introspection'. */
  readonly handler: string
  /** Its position in the rule's list of that kind (authenticators, mutators); 0 for the authorizer. */
  readonly index: number
  readonly outcome: 'authenticated' | 'not_responsible' | 'allowed' | 'mutated' | 'failed'
  /** The error a failed step threw (unchanged: the reader redacts what it shows). */
  readonly error?: unknown
  /** After an authenticator authenticated: the subject it set. */
  readonly subject?: string
}

/**
 * Collects what each step of runPipeline did. Passed only by the explain paths; the gateway's
 * requests pass none, so the hot path pays one `undefined` check per step and allocates nothing.
 */
export class PipelineTrace {
  readonly steps: TraceStep[] = []

  record(step: TraceStep): void {
    this.steps.push(step)
  }
}
