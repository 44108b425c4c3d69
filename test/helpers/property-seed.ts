import fc from 'fast-check'

/** The seed CI uses, so that a red CI run is the same run on a developer's machine. */
export const CI_SEED = 20261204

/**
 * Sets fast-check's seed for every property in this test file and says which it is.
 *
 * - `GATEHOUSE_PROPERTY_SEED=<n>` reruns a reported run exactly;
 * - in CI (`CI=true`) the seed is fixed ({@link CI_SEED}), so CI is reproducible;
 * - elsewhere it is random, so developers' runs keep exploring new inputs.
 *
 * The seed is logged as a TAP comment either way; fast-check's own failure report adds the
 * seed and path of the counterexample.
 */
export function usePropertySeed(t: { comment(...args: unknown[]): void }, env: NodeJS.ProcessEnv = process.env): number {
  const given = env.GATEHOUSE_PROPERTY_SEED
  let seed: number
  let why: string
  if (given !== undefined && given !== '') {
    seed = Number(given)
    if (!Number.isSafeInteger(seed)) throw new Error(`GATEHOUSE_PROPERTY_SEED must be an integer, got ${JSON.stringify(given)}`)
    why = 'from GATEHOUSE_PROPERTY_SEED'
  } else if (env.CI === 'true') {
    seed = CI_SEED
    why = 'fixed in CI'
  } else {
    seed = (Math.random() * 0x7fffffff) | 0
    why = 'random'
  }
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed })
  t.comment(`fast-check seed ${seed} (${why}); rerun with GATEHOUSE_PROPERTY_SEED=${seed}`)
  return seed
}
