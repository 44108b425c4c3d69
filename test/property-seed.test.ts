import t from 'tap'
import fc from 'fast-check'
import { CI_SEED, usePropertySeed } from './helpers/property-seed.js'

// The seed policy every property test file follows (test/property-*.test.ts): reproducible in
// CI, rerunnable with GATEHOUSE_PROPERTY_SEED, random (and logged) elsewhere.

function seeded(env: NodeJS.ProcessEnv): { seed: number; comments: string[] } {
  const comments: string[] = []
  const seed = usePropertySeed({ comment: (...args: unknown[]) => void comments.push(args.join(' ')) }, env)
  return { seed, comments }
}

t.test('GATEHOUSE_PROPERTY_SEED is used as given, even in CI, and logged', async (t) => {
  const { seed, comments } = seeded({ GATEHOUSE_PROPERTY_SEED: '424242', CI: 'true' })
  t.equal(seed, 424242)
  t.equal(fc.readConfigureGlobal().seed, 424242)
  t.match(comments.join('\n'), /seed 424242 .*GATEHOUSE_PROPERTY_SEED=424242/)
  // The same seed gives the same inputs: what makes a reported failure rerunnable.
  const first = fc.sample(fc.string(), { numRuns: 5 })
  seeded({ GATEHOUSE_PROPERTY_SEED: '424242' })
  t.same(fc.sample(fc.string(), { numRuns: 5 }), first)
})

t.test('CI=true fixes the seed', async (t) => {
  t.equal(seeded({ CI: 'true' }).seed, CI_SEED)
  t.equal(fc.readConfigureGlobal().seed, CI_SEED)
})

t.test('elsewhere the seed is random, and logged', async (t) => {
  const a = seeded({})
  const b = seeded({})
  t.not(a.seed, b.seed)
  t.match(a.comments[0], new RegExp(`seed ${a.seed} \\(random\\)`))
})

t.test('a malformed GATEHOUSE_PROPERTY_SEED is an error, not a random run', async (t) => {
  t.throws(() => seeded({ GATEHOUSE_PROPERTY_SEED: 'abc' }), /GATEHOUSE_PROPERTY_SEED must be an integer/)
})
