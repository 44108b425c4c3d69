import t from 'tap'
import { TapConfig } from '@tapjs/config'

// The coverage policy (README "## Development"): reported, never a gate. tap's output must agree:
// no "# ERROR: incomplete … coverage" lines on a run that then exits 0, which is what tap prints
// when a threshold (default 100%) is missed and allow-incomplete-coverage hides the failure.

const config = await TapConfig.load()

t.test('coverage is reported: not disabled, a summary is printed', async (t) => {
  t.notOk(config.get('disable-coverage'))
  t.match(config.get('coverage-report'), ['text-summary'])
})

t.test('no threshold: nothing is called an ERROR that does not fail the run', async (t) => {
  for (const th of ['statements', 'branches', 'functions', 'lines'] as const) {
    t.equal(config.get(th), 0, `${th}: a threshold above 0 would print "# ERROR: incomplete ${th} coverage"`)
  }
  t.notOk(config.get('allow-incomplete-coverage'), 'nothing left for allow-incomplete-coverage to hide')
})

t.test('a single end-to-end file (no src/ loaded in-process) does not fail for lack of coverage', async (t) => {
  t.equal(config.get('allow-empty-coverage'), true)
})
