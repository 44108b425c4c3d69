import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { accessRulesJson } from '../src/rules/maester-output.js'
import { parseRuleDocument } from '../src/rules/parse.js'
import { ConfigMapVolume } from './helpers/configmap.js'
import { startGateway, startUpstream } from './helpers/servers.js'
import { until } from './helpers/wait.js'

// The real gateway reading a ConfigMap-mounted rules directory while the kubelet swaps versions
// under it: rules change without a restart and no request to a rule that stays fails meanwhile.

const up = await startUpstream()
t.teardown(() => up.close())

/** A Rule manifest (Oathkeeper Maester's format) in namespace `edge`: id `<name>.edge`. */
const manifest = (name: string, path: string, authorizer = 'allow'): string => `apiVersion: oathkeeper.ory.sh/v1alpha1
kind: Rule
metadata: { name: ${name}, namespace: edge }
spec:
  upstream: { url: '${up.url}' }
  match: { url: 'http://gw.test${path}', methods: [GET] }
  authenticators: [{ handler: noop }]
  authorizer: { handler: ${authorizer} }
`

/** What Maester would have written to access-rules.json for these manifests. */
const maesterJson = (...docs: string[]): string => accessRulesJson(parseRuleDocument(docs.join('---\n'), 'manifests.yaml'))

t.test('ConfigMap updates (access-rules.json and Rule manifests) reload under load, no request fails', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-configmap-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const volume = new ConfigMapVolume(join(dir, 'rules'))
  // Both ways a team gets rules into the ConfigMap: Maester's JSON, and manifests kept in git.
  volume.update({
    'access-rules.json': maesterJson(manifest('stable', '/stable'), manifest('v', '/v1')),
    'team.yaml': manifest('team', '/team'),
  })
  const gw = await startGateway({}, { access_rules: { repositories: [volume.dir] } })
  t.teardown(() => gw.close())
  const status = async (path: string): Promise<number> => {
    const r = await request(`${gw.proxy}${path}`, { headers: { host: 'gw.test' } })
    await r.body.text()
    return r.statusCode
  }
  const sources = async (): Promise<{ source: string; error: string | null; rules: number }[]> =>
    (await (await request(`${gw.api}/rules/status`)).body.json()) as { source: string; error: string | null; rules: number }[]

  t.equal(await status('/stable'), 200)
  t.equal(await status('/team'), 200)
  t.same((await sources()).map((s) => s.source), [join(volume.dir, 'access-rules.json'), join(volume.dir, 'team.yaml')], 'only the visible keys are sources')

  // Four request loops on a rule that is in every version, for the whole test (bounded by it).
  let running = true
  const failures: number[] = []
  let sent = 0
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      const s = await status('/stable')
      sent++
      if (s !== 200) failures.push(s)
    }
  })

  // A new version: a rule moves, a key is added, the manifest file changes.
  volume.update({
    'access-rules.json': maesterJson(manifest('stable', '/stable'), manifest('v', '/v2')),
    'team.yaml': manifest('team', '/team', 'deny'),
    'more.yaml': `${manifest('more', '/more')}---\n${manifest('closed', '/closed').replace(/ {2}authenticators.*\n {2}authorizer.*\n/, '')}`,
  })
  await until(async () => (await status('/v2')) === 200 && (await status('/v1')) === 404, 'moved rule served')
  t.equal(await status('/team'), 403, 'changed manifest in force')
  t.equal(await status('/more'), 200, 'added key loaded')
  t.equal(await status('/closed'), 401, "a manifest without handlers is closed (Maester's unauthorized/deny defaults)")

  // A broken version keeps the last good rules of that key and says which manifest is wrong.
  volume.update({
    'access-rules.json': maesterJson(manifest('stable', '/stable'), manifest('v', '/v2')),
    'team.yaml': manifest('team', '/team', 'deny').replace('methods: [GET]', 'methods: GET'),
    'more.yaml': manifest('more', '/more'),
  })
  await until(async () => (await sources()).some((s) => s.source.endsWith('team.yaml') && s.error !== null), 'broken manifest reported')
  t.match((await sources()).find((s) => s.source.endsWith('team.yaml'))!.error, /team\.yaml: Rule "team\.edge": spec\.match\.methods: must be array/)
  t.equal(await status('/team'), 403, 'its last good rules stay')
  t.equal(await status('/closed'), 404, 'the other key reloaded')

  // A key removed from the ConfigMap removes its rules.
  volume.update({ 'access-rules.json': maesterJson(manifest('stable', '/stable'), manifest('v', '/v3')) })
  await until(async () => (await status('/v3')) === 200 && (await status('/team')) === 404 && (await status('/more')) === 404, 'removed keys dropped')

  running = false
  await Promise.all(loops)
  t.ok(sent > 20, `requests ran during the swaps (${sent})`)
  t.same(failures, [], 'no request to the stable rule failed')
})
