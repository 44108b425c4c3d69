import t from 'tap'
import { formatDuration, parseDuration } from '../src/config/duration.js'

t.test('formatDuration writes Go time.Duration String() forms', async (t) => {
  // Expected values are what Go prints for time.ParseDuration(in).String().
  const cases: [string, string][] = [
    ['90m', '1h30m0s'],
    ['1h', '1h0m0s'],
    ['0', '0s'],
    ['1.5s', '1.5s'],
    ['300ms', '300ms'],
    ['1.2ms', '1.2ms'],
    ['1500us', '1.5ms'],
    ['999ns', '999ns'],
    ['61s', '1m1s'],
    ['3600s', '1h0m0s'],
    ['25h', '25h0m0s'],
    ['1h0.5s', '1h0m0.5s'],
    ['72h3m0.5s', '72h3m0.5s'],
    ['1m', '1m0s'],
    ['2.25m', '2m15s'],
  ]
  for (const [input, want] of cases) t.equal(formatDuration(parseDuration(input)), want, input)
  t.equal(formatDuration(parseDuration('3000000h')), undefined, 'beyond int64 nanoseconds')
})
