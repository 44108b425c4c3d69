import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { storeSelection } from './helpers/stores.js'
import { forEachStore } from './helpers/token-server.js'

// "Postgres tests fail, never skip silently": narrowing the stores with GATEHOUSE_TEST_STORES
// must show up as skips, and CI must refuse the variable.

/** A stand-in for tap's Test that records the subtests registered on it. */
function recorder(): { t: Test; subtests: { name: string; skip: unknown }[] } {
  const subtests: { name: string; skip: unknown }[] = []
  const fake = {
    test(name: string, optsOrFn: unknown) {
      subtests.push({ name, skip: typeof optsOrFn === 'object' && optsOrFn !== null ? (optsOrFn as { skip?: unknown }).skip : undefined })
    },
  }
  return { t: fake as unknown as Test, subtests }
}

function withEnv(vars: Record<string, string | undefined>, fn: () => void): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k]; else process.env[k] = v
  try {
    fn()
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v
  }
}

t.test('unset: every store runs, none skipped', async (t) => {
  const r = recorder()
  withEnv({ GATEHOUSE_TEST_STORES: undefined, CI: undefined }, () => forEachStore(r.t, 'x', async () => {}))
  t.same(r.subtests, [
    { name: 'x [memory]', skip: undefined },
    { name: 'x [sqlite]', skip: undefined },
    { name: 'x [postgres]', skip: undefined },
  ])
})

t.test('GATEHOUSE_TEST_STORES=memory,sqlite: postgres is reported as a skip with the reason', async (t) => {
  const r = recorder()
  withEnv({ GATEHOUSE_TEST_STORES: 'memory,sqlite', CI: undefined }, () => forEachStore(r.t, 'x', async () => {}))
  t.same(r.subtests, [
    { name: 'x [memory]', skip: undefined },
    { name: 'x [sqlite]', skip: undefined },
    { name: 'x [postgres]', skip: 'left out by GATEHOUSE_TEST_STORES=memory,sqlite' },
  ])
})

t.test('store kinds (forEachKind): `sqlite` covers both SQLite kinds; the others are skips', async (t) => {
  const leftOut = storeSelection({ GATEHOUSE_TEST_STORES: 'sqlite' })
  t.same(
    ['memory', 'sqlite file', 'sqlite memory', 'postgres'].map((n) => [n, leftOut(n)]),
    [
      ['memory', 'left out by GATEHOUSE_TEST_STORES=sqlite'],
      ['sqlite file', undefined],
      ['sqlite memory', undefined],
      ['postgres', 'left out by GATEHOUSE_TEST_STORES=sqlite'],
    ],
  )
})

t.test('refused under CI=true, and for names that match no store (a typo would drop them all)', async (t) => {
  t.throws(() => storeSelection({ GATEHOUSE_TEST_STORES: 'memory', CI: 'true' }), /set under CI=true: CI runs every store/)
  t.throws(() => storeSelection({ GATEHOUSE_TEST_STORES: 'memroy' }), /name the stores to run, comma-separated, from memory, sqlite, postgres/)
  t.throws(() => storeSelection({ GATEHOUSE_TEST_STORES: '' }), /name the stores to run/)
  const r = recorder()
  t.throws(() => withEnv({ GATEHOUSE_TEST_STORES: 'memory', CI: 'true' }, () => forEachStore(r.t, 'x', async () => {})), /CI=true/)
  t.same(r.subtests, [], 'nothing registered')
  t.equal(storeSelection({ CI: 'true' })('postgres'), undefined, 'CI without the variable runs everything')
})

t.test('.ci/run refuses to run with GATEHOUSE_TEST_STORES set, before installing or testing anything', async (t) => {
  // A copy of the script in a scratch tree, with stand-ins for the commands it runs, so that a
  // broken check cannot install or test anything for real.
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-ci-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  mkdirSync(join(root, '.ci'))
  mkdirSync(join(root, 'bin'))
  copyFileSync(new URL('../.ci/run', import.meta.url), join(root, '.ci', 'run'))
  const ran = join(root, 'ran.log')
  for (const cmd of ['npm', 'npx', 'pg_isready', 'pg_ctlcluster', 'apt-get', 'nginx']) {
    writeFileSync(join(root, 'bin', cmd), `#!/bin/sh\necho "${cmd} $*" >> "${ran}"\n`)
    chmodSync(join(root, 'bin', cmd), 0o755)
  }
  const env = { PATH: `${join(root, 'bin')}:/usr/bin:/bin`, HOME: root }
  const refused = spawnSync('bash', [join(root, '.ci', 'run')], { env: { ...env, GATEHOUSE_TEST_STORES: 'memory' }, encoding: 'utf8' })
  t.equal(refused.status, 2, 'exit status 2')
  t.match(refused.stderr, /GATEHOUSE_TEST_STORES is set \("memory"\); CI runs every store: unset it/)
  t.notOk(existsSync(ran), 'nothing ran')

  const empty = spawnSync('bash', [join(root, '.ci', 'run')], { env: { ...env, GATEHOUSE_TEST_STORES: '' }, encoding: 'utf8' })
  t.equal(empty.status, 2, 'set but empty is refused too')

  const normal = spawnSync('bash', [join(root, '.ci', 'run')], { env, encoding: 'utf8' })
  t.equal(normal.status, 0, normal.stderr)
  t.match(
    readFileSync(ran, 'utf8'),
    /npm ci\nnpm run build\nnpx gatehouse rules lint -c config\/quickstart\.yml rules\/\nnpx gatehouse rules lint -c deploy\/kubernetes\/gateway\.yml deploy\/kubernetes\/rules\/\nnpm test\n/,
    'without it: the clean install, the rule lint and the tests',
  )
})
