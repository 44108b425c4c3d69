import t from 'tap'
import { GroupCommit, type ItemOutcome } from '../src/token-server/store/group-commit.js'

/** A writer that records each batch and answers "all written". */
function recorder(): { batches: number[][]; write: (items: readonly number[]) => Promise<ItemOutcome[]> } {
  const batches: number[][] = []
  return {
    batches,
    write: async (items) => {
      batches.push([...items])
      return items.map(() => undefined)
    },
  }
}

t.test('items added in one turn are written by one call, then all resolve', async (t) => {
  const { batches, write } = recorder()
  const gc = new GroupCommit<number>(write)
  const first = Promise.all([1, 2, 3].map((n) => gc.add(n)))
  t.equal(gc.pending, 3)
  t.same(batches, [], 'nothing written before the turn ends')
  await first
  t.same(batches, [[1, 2, 3]])
  await gc.add(4)
  t.same(batches, [[1, 2, 3], [4]], 'a later turn is a new batch')
})

t.test('a batch that fails rejects every item with its error, thrown or rejected', async (t) => {
  for (const write of [
    () => {
      throw new Error('disk I/O error')
    },
    () => Promise.reject(new Error('disk I/O error')),
  ]) {
    const gc = new GroupCommit<number>(write)
    const results = await Promise.allSettled([gc.add(1), gc.add(2)])
    t.same(
      results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok')),
      ['disk I/O error', 'disk I/O error'],
    )
  }
})

t.test('an item the writer refuses fails alone', async (t) => {
  const gc = new GroupCommit<number>(async (items) => items.map((n): ItemOutcome => (n === 2 ? new Error('duplicate') : undefined)))
  const results = await Promise.allSettled([gc.add(1), gc.add(2), gc.add(3)])
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'])
})

t.test('flush() sends at once and cancels the scheduled flush', async (t) => {
  const { batches, write } = recorder()
  const gc = new GroupCommit<number>(write)
  const p = gc.add(1)
  gc.flush()
  t.same(batches, [[1]])
  t.equal(gc.pending, 0)
  await p
  await new Promise((r) => setImmediate(r))
  t.equal(batches.length, 1, 'no empty second write')
  gc.flush()
  t.equal(batches.length, 1, 'flushing nothing writes nothing')
})

t.test('one batch in flight: what arrives meanwhile, over several turns, is the next batch', async (t) => {
  const batches: number[][] = []
  const commits: (() => void)[] = []
  const gc = new GroupCommit<number>((items) => {
    batches.push([...items])
    return new Promise((resolve) => commits.push(() => resolve(items.map(() => undefined))))
  })
  const first = gc.add(1)
  await new Promise((r) => setImmediate(r))
  t.same(batches, [[1]], 'the first batch is in flight')
  const later = [gc.add(2)]
  await new Promise((r) => setImmediate(r))
  later.push(gc.add(3))
  await new Promise((r) => setImmediate(r))
  t.same(batches, [[1]], 'nothing more is sent while it commits')
  t.equal(gc.pending, 2)
  commits.shift()!()
  await first
  await new Promise((r) => setImmediate(r))
  t.same(batches, [[1], [2, 3]], 'both later items go out together once it is done')
  commits.shift()!()
  await Promise.all(later)
})

t.test('a batch holds at most maxBatch items; the rest follow in order', async (t) => {
  const { batches, write } = recorder()
  const gc = new GroupCommit<number>(write, 2)
  await Promise.all([1, 2, 3, 4, 5].map((n) => gc.add(n)))
  t.same(batches, [[1, 2], [3, 4], [5]])
})
