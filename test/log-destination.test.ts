import fc from 'fast-check'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { BatchedDestination } from '../src/observability/log-destination.js'
import { isoTime } from '../src/observability/log-time.js'
import { usePropertySeed } from './helpers/property-seed.js'
import { until } from './helpers/wait.js'

usePropertySeed(t)

// 2000-01-01 .. 2100-01-01: four-digit years, as toISOString writes them.
const instant = fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 })

t.test('isoTime writes what toISOString writes, for any sequence of instants', async (t) => {
  fc.assert(
    fc.property(fc.array(instant, { minLength: 1, maxLength: 20 }), (times) => {
      let i = 0
      const time = isoTime(() => times[i]!)
      for (; i < times.length; i++) {
        if (time() !== `,"time":"${new Date(times[i]!).toISOString()}"`) return false
      }
      return true
    }),
  )
  t.pass('property held')
})

t.test('isoTime across a second boundary and within one second (the cached part)', async (t) => {
  const start = Date.UTC(2026, 11, 31, 23, 59, 59, 998)
  const steps = [0, 1, 2, 3, 9, 10, 99, 100, 999, 1000, 1001, 60_000]
  let now = start
  const time = isoTime(() => now)
  for (const step of steps) {
    now = start + step
    t.equal(time(), `,"time":"${new Date(now).toISOString()}"`, `+${step} ms`)
  }
})

/** A BatchedDestination on a temporary file, and what the file holds. */
function onFile(t: Test): { dest: BatchedDestination; text(): string } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-logdest-'))
  const file = join(dir, 'out.log')
  const fd = openSync(file, 'w')
  t.teardown(() => {
    closeSync(fd)
    rmSync(dir, { recursive: true, force: true })
  })
  return { dest: new BatchedDestination(fd), text: () => readFileSync(file, 'utf8') }
}

t.test('a line is written at the end of its turn of the event loop, with no flush and no more lines', async (t) => {
  const { dest, text } = onFile(t)
  dest.write('{"msg":"one"}\n')
  t.equal(text(), '', 'not written during the turn that logged it')
  await until(() => text() === '{"msg":"one"}\n', 'the line to reach the file')
})

t.test('flush calls back once every line is written, in order, batches larger than one write included', async (t) => {
  const { dest, text } = onFile(t)
  const lines = Array.from({ length: 3000 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(i % 50)}"}\n`)
  // Several turns, each with many lines (~100 KB in all: more than one write and one batch).
  for (let i = 0; i < lines.length; i += 300) {
    for (const l of lines.slice(i, i + 300)) dest.write(l)
    await new Promise((r) => setImmediate(r))
  }
  await new Promise<void>((resolve) => dest.flush(() => resolve()))
  t.equal(text(), lines.join(''), 'all lines, in order, none twice')
})

t.test('flushSync writes what is left without the event loop', async (t) => {
  const { dest, text } = onFile(t)
  dest.write('{"msg":"a"}\n')
  dest.write('{"msg":"b"}\n')
  dest.flushSync()
  t.equal(text(), '{"msg":"a"}\n{"msg":"b"}\n')
})
