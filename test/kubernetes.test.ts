import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parseAllDocuments, parse } from 'yaml'
import { validateRuleFiles } from '../src/rules/validate.js'
import { loadConfig } from '../src/config/load.js'
import { readRuleDocument } from '../src/rules/parse.js'
import { ROOT } from './helpers/cli.js'
import { checkCommand, optionValues } from './helpers/commands.js'

// No cluster here: these tests check what `kubectl apply -k deploy/kubernetes` relies on,
// against the real CLI, config loader and rule parser.

const DIR = join(ROOT, 'deploy', 'kubernetes')

interface Kustomization {
  namespace: string
  resources: string[]
  configMapGenerator: { name: string; files: string[]; options?: { disableNameSuffixHash?: boolean } }[]
}
interface Container {
  args: string[]
  ports: { name: string; containerPort: number }[]
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[]
  livenessProbe?: { httpGet: { path: string; port: string } }
  readinessProbe?: { httpGet: { path: string; port: string } }
}
interface Workload {
  kind: string
  metadata: { name: string }
  spec: {
    selector?: Record<string, string>
    ports?: { name: string; port: number; targetPort: string }[]
    template?: { metadata: { labels: Record<string, string> }; spec: { containers: Container[]; volumes?: { name: string; configMap: { name: string } }[] } }
  }
}

const kustomization = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as Kustomization
const objects = kustomization.resources.flatMap((f) => parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((d) => d.toJS() as Workload))
const find = (kind: string, name: string): Workload => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name)
  if (o === undefined) throw new Error(`no ${kind} ${name}`)
  return o
}
const generated = (name: string): string[] => kustomization.configMapGenerator.find((g) => g.name === name)!.files.map((f) => join(DIR, f))
const gateway = find('Deployment', 'gatehouse')
const pod = gateway.spec.template!.spec
const container = pod.containers[0]!
/** Where the Deployment mounts the ConfigMap `configMap`. */
const mountOf = (configMap: string): { mountPath: string; subPath?: string } => {
  const volume = pod.volumes!.find((v) => v.configMap.name === configMap)!
  return container.volumeMounts!.find((m) => m.name === volume.name)!
}

t.test('every file kustomization.yaml names exists', async (t) => {
  for (const f of [...kustomization.resources, ...kustomization.configMapGenerator.flatMap((g) => g.files)]) t.ok(existsSync(join(DIR, f)), f)
  t.equal(kustomization.configMapGenerator.find((g) => g.name === 'gatehouse-rules')?.options?.disableNameSuffixHash, true,
    'the rules ConfigMap keeps its name: updates reach running pods instead of rolling them')
})

t.test('the gateway runs `serve` with the mounted config, which reads the mounted rules directory', async (t) => {
  await checkCommand(t, container.args, 'gateway')
  const [configPath] = optionValues(container.args, '-c', '--config')
  const [configFile] = generated('gatehouse-config')
  t.equal(configPath, `${mountOf('gatehouse-config').mountPath}/${basename(configFile!)}`, '-c names the mounted config file')
  const config = loadConfig([configFile!], {})

  const rules = mountOf('gatehouse-rules')
  t.equal(rules.subPath, undefined, 'a directory mount (subPath mounts get no updates)')
  t.same(config.access_rules.repositories.map((r) => r.replace(/^file:\/\//, '')), [rules.mountPath])
  t.same(await validateRuleFiles(generated('gatehouse-rules'), config), [], 'the sample rules are valid with this config')

  t.same(container.ports.map((p) => [p.name, p.containerPort]), [['proxy', config.serve.proxy.port], ['api', config.serve.api.port]])
  t.same([container.livenessProbe?.httpGet, container.readinessProbe?.httpGet], [{ path: '/health/alive', port: 'api' }, { path: '/health/ready', port: 'api' }])
  const service = find('Service', 'gatehouse')
  t.match(gateway.spec.template!.metadata.labels, service.spec.selector!, 'the Service selects the gateway pods')
  t.same(service.spec.ports!.map((p) => p.targetPort), ['proxy', 'api'])
})

t.test('the sample Rule manifests load with Maester ids and reach the echo Service', async (t) => {
  const rules = generated('gatehouse-rules').flatMap((f) => readRuleDocument(readFileSync(f, 'utf8'), f))
  t.same(rules.map((r) => r.spec.id), ['echo-public.gatehouse', 'echo-admin.gatehouse'])
  t.ok(rules.every((r) => r.manifest?.namespace === kustomization.namespace), 'in the namespace kustomize deploys to')
  t.same(rules[1]!.spec.authenticators, [{ handler: 'unauthorized' }], 'the handler-less rule is closed')

  const echo = find('Deployment', 'echo')
  const echoContainer = echo.spec.template!.spec.containers[0]!
  await checkCommand(t, echoContainer.args, 'echo')
  const port = Number(optionValues(echoContainer.args, '--port')[0])
  t.same(echoContainer.ports.map((p) => p.containerPort), [port])
  const service = find('Service', 'echo')
  for (const r of rules) {
    const url = new URL(r.spec.upstream!.url!)
    t.equal(url.hostname, service.metadata.name, `${r.spec.id}: upstream is the echo Service`)
    t.same(service.spec.ports!.map((p) => p.port), [Number(url.port)], `${r.spec.id}: on its port`)
  }
})
