import t from 'tap'
import { pino } from 'pino'
import { Writable } from 'node:stream'
import { SharedResources } from '../src/pipeline/shared.js'
import { until } from './helpers/wait.js'

/** A resource that records what happened to it. */
class Resource {
  disposed = 0
  released = 0
  constructor(readonly name: string) {}
  dispose(): void {
    this.disposed++
  }
}

t.test('collect notes the keys a handler gets; sweep drops the others, releasing at once and disposing after the grace', async (t) => {
  const shared = new SharedResources({ releaseGraceMs: 0 })
  t.teardown(() => shared.close())
  const make = (name: string) => (onRelease: (fn: () => void) => void) => {
    const r = new Resource(name)
    onRelease(() => r.released++)
    return r
  }
  const usedByA = new Set<string>()
  const a = shared.collect(usedByA, () => [shared.get('a', make('a')), shared.get('both', make('both'))])
  const usedByB = new Set<string>()
  const b = shared.collect(usedByB, () => shared.get('both', make('other')))
  t.same([...usedByA], ['a', 'both'])
  t.same([...usedByB], ['both'])
  t.equal(b, a[1], 'the second handler shares the first one’s resource')
  shared.get('outside', make('outside'))

  t.same(shared.sweep(usedByB), ['a', 'outside'], 'what no live handler collected is dropped')
  t.same(shared.keys(), ['both'])
  const [ra, rboth] = a as [Resource, Resource]
  t.equal(ra.released, 1, 'release hooks run at the sweep')
  t.equal(rboth.released, 0)
  await until(() => ra.disposed === 1, 'the dropped resource to be disposed')
  t.equal(rboth.disposed, 0, 'the live one is not')
  const again = shared.get('a', make('a2')) as Resource
  t.not(again, ra, 'asking again after the drop makes a new one')
  t.equal(again.name, 'a2')
})

t.test('a dropped resource stays usable for the grace; close() disposes it then and there', async (t) => {
  const shared = new SharedResources({ releaseGraceMs: 60_000 })
  const r = shared.get('x', () => new Resource('x'))
  shared.sweep(new Set())
  t.equal(r.disposed, 0, 'not yet: requests of the previous rule set may use it')
  const kept = shared.get('kept', () => new Resource('kept'))
  await shared.close()
  t.equal(r.disposed, 1)
  t.equal(kept.disposed, 1)
})

t.test('a dropped resource that fails to close is logged, not thrown', async (t) => {
  const lines: string[] = []
  const logger = pino({ level: 'warn' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }))
  const shared = new SharedResources({ releaseGraceMs: 0, logger })
  t.teardown(() => shared.close())
  shared.get('broken', () => ({ dispose: () => Promise.reject(new Error('cannot close')) }))
  shared.sweep(new Set())
  await until(() => lines.length > 0, 'the warning')
  t.match(lines[0], /closing an unused shared resource failed/)
  t.match(lines[0], /"resource":"broken"/)
})
