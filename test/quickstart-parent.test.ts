import t from 'tap'
import { exitWithParent } from '../src/cli/quickstart.js'

// The quickstart stops when the process that started it (npm) is gone. The parent's id is read
// when the quickstart starts, not when start-up has finished: npm killed during start-up left an
// orphan (adopted by init) that read init's id, took itself for a container's entrypoint and
// never stopped. exitWithParent is handed the id read at start; a parent id that is no longer
// this process's parent begins the shutdown at the first check.
t.test('a parent that is already gone when the watch begins: shutdown begins', async (t) => {
  const gone = process.ppid + 1_000_000
  // The watch's timer is unref'd (watching is no reason to stay up): keep this process up meanwhile.
  const keepAlive = setInterval(() => {}, 1000)
  const why = await new Promise<{ reason: string; now: unknown }>((resolve) => {
    exitWithParent((reason, opts) => resolve({ reason, now: opts?.now }), gone, 5)
  })
  clearInterval(keepAlive)
  t.same(why, { reason: 'the parent process is gone', now: true })
})

t.test('started by init (a container entrypoint): nothing to watch, nothing begins', async (t) => {
  // With no timer set, nothing keeps this test's process busy: the call returns at once.
  exitWithParent(() => t.fail('no shutdown for a process started by init'), 1, 5)
  t.pass('no watch for parent id 1')
})
