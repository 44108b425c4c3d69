import t from 'tap'
import { GroupCommit, type ItemOutcome } from '../src/token-server/store/group-commit.js'

t.test('items added in one turn are written by one call, then all resolve', async (t) => {
  const batches: number[][] = []
  const gc = new GroupCommit<number>((items) => {
    batches.push([...items])
    return items.map(() => undefined)
  })
  const first = Promise.all([1, 2, 3].map((n) => gc.add(n)))
  t.equal(gc.pending, 3)
  t.same(batches, [], 'nothing written before the turn ends')
  await first
  t.same(batches, [[1, 2, 3]])
  await gc.add(4)
  t.same(batches, [[1, 2, 3], [4]], 'a later turn is a new batch')
})

t.test('a batch that fails rejects every item with its error', async (t) => {
  const gc = new GroupCommit<number>(() => {
    throw new Error('disk I/O error')
  })
  const results = await Promise.allSettled([gc.add(1), gc.add(2)])
  t.same(
    results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok')),
    ['disk I/O error', 'disk I/O error'],
  )
})

t.test('an item the writer refuses fails alone', async (t) => {
  const gc = new GroupCommit<number>((items) => items.map((n): ItemOutcome => (n === 2 ? new Error('duplicate') : undefined)))
  const results = await Promise.allSettled([gc.add(1), gc.add(2), gc.add(3)])
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'])
})

t.test('flush() writes at once and cancels the scheduled flush', async (t) => {
  let calls = 0
  const gc = new GroupCommit<number>((items) => {
    calls++
    return items.map(() => undefined)
  })
  const p = gc.add(1)
  gc.flush()
  t.equal(calls, 1)
  t.equal(gc.pending, 0)
  await p
  await new Promise((r) => setImmediate(r))
  t.equal(calls, 1, 'no empty second write')
  gc.flush()
  t.equal(calls, 1, 'flushing nothing writes nothing')
})
