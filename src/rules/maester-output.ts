/**
 * What `gatehouse rules convert` writes: the access-rules.json array and the ConfigMaps ORY
 * Oathkeeper Maester maintains, and the reverse, Rule manifests for rules kept in Oathkeeper's
 * format, so a team can move either way between files and Kubernetes resources.
 */
import { stringify } from 'yaml'
import type { ParsedRule } from './parse.js'
import { RULE_API_VERSION, type RuleManifest, type RuleManifestSpec } from './maester.js'
import type { RuleSpec } from './types.js'

/** Maester's own defaults for the ConfigMap it writes (`rulesConfigmapName`, `rulesFileName`). */
export const CONFIGMAP_DEFAULTS = { name: 'oathkeeper-rules', key: 'access-rules.json' } as const

export interface ConfigMapOptions {
  readonly name: string
  /** Left out of the manifest when undefined, so `kubectl apply -n` decides. */
  readonly namespace?: string
  readonly key: string
}

const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]{1,253}$/

/** Problems with the names the options give, before anything is written. */
export function optionProblems(opts: { name?: string; namespace?: string; key?: string }): string[] {
  const problems: string[] = []
  if (opts.name !== undefined && !DNS_SUBDOMAIN.test(opts.name)) problems.push(`--name: "${opts.name}" is not a Kubernetes object name (lower-case a-z, 0-9, "-", ".")`)
  if (opts.namespace !== undefined && !DNS_LABEL.test(opts.namespace)) problems.push(`--namespace: "${opts.namespace}" is not a Kubernetes namespace name (lower-case a-z, 0-9, "-")`)
  if (opts.key !== undefined && !CONFIGMAP_KEY.test(opts.key)) problems.push(`--key: "${opts.key}" is not a ConfigMap key (a-z, A-Z, 0-9, "-", "_", ".")`)
  return problems
}

/** The rules as Maester writes them to the ConfigMap key: a JSON array, two-space indented. */
export function accessRulesJson(specs: readonly RuleSpec[]): string {
  // JSON.stringify escapes no HTML, like Maester's encoder (SetEscapeHTML(false)): templates stay readable.
  return JSON.stringify(specs, null, 2)
}

/**
 * The ConfigMaps Maester would write, as YAML documents: rules without `configMapName` go to the
 * one the options name, the others to the one they name, in their own namespace (as Maester does).
 */
export function configMapsYaml(rules: readonly ParsedRule[], opts: ConfigMapOptions): string {
  const groups = new Map<string, { name: string; namespace?: string; specs: RuleSpec[] }>()
  const group = (name: string, namespace: string | undefined): RuleSpec[] => {
    const key = `${namespace ?? ''}/${name}`
    let g = groups.get(key)
    if (g === undefined) groups.set(key, (g = { name, ...(namespace !== undefined && { namespace }), specs: [] }))
    return g.specs
  }
  group(opts.name, opts.namespace) // always written, even empty: it is the one the gateway mounts
  for (const r of rules) {
    const target = r.manifest?.configMapName
    if (target === undefined) group(opts.name, opts.namespace).push(r.spec)
    else group(target, r.manifest!.namespace).push(r.spec)
  }
  const docs = [...groups.values()].map((g) =>
    yaml({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: g.name, ...(g.namespace !== undefined && { namespace: g.namespace }) },
      data: { [opts.key]: accessRulesJson(g.specs) },
    }),
  )
  return docs.join('---\n')
}

/** Rule manifests for `kubectl apply -f`, and what the reader should know about them. */
export interface ManifestsOutput {
  readonly yaml: string
  /** Things that changed on the way (renamed ids, dropped fields): worth a look, not an error. */
  readonly notes: readonly string[]
  /** Rules that cannot become manifests (e.g. two ids that map to the same name). */
  readonly problems: readonly string[]
}

/**
 * Oathkeeper rules as Rule manifests (the reverse of Maester). An Oathkeeper rule's id becomes
 * the manifest name (made a valid Kubernetes name where needed); a rule that came from a
 * manifest keeps its name and namespace. Maester will call each rule `<name>.<namespace>`.
 */
export function manifestsYaml(rules: readonly (ParsedRule & { readonly source: string })[], opts: { namespace?: string }): ManifestsOutput {
  const notes: string[] = []
  const problems: string[] = []
  const dropped: string[] = []
  const taken = new Map<string, string>()
  const docs: string[] = []
  for (const r of rules) {
    const from = `${r.source}: ${r.label}`
    if (r.spec.priority !== undefined) {
      // Dropping it silently would change which rule answers under precedence: priority.
      problems.push(`${from}: priority has no place in a Rule manifest (Maester's Rule has no such field); keep this rule in a rule file`)
      continue
    }
    let name: string
    let namespace = opts.namespace
    if (r.manifest !== undefined) {
      name = r.spec.id.slice(0, -(r.manifest.namespace.length + 1))
      namespace = r.manifest.namespace
    } else {
      name = kubernetesName(r.spec.id)
      if (name === '') {
        problems.push(`${from}: the id has nothing a Kubernetes name can be made of (a-z, 0-9, "-", ".")`)
        continue
      }
      if (name !== r.spec.id) notes.push(`${from}: named "${name}" (a Kubernetes name is a lower-case DNS name)`)
      if (r.spec.description !== undefined || r.spec.version !== undefined) dropped.push(`"${r.spec.id}"`)
    }
    const key = `${namespace ?? ''}/${name}`
    const other = taken.get(key)
    if (other !== undefined) {
      problems.push(`${from}: becomes Rule "${name}"${namespace === undefined ? '' : ` in namespace "${namespace}"`}, as ${other} does`)
      continue
    }
    taken.set(key, from)
    docs.push(yaml(manifestOf(r.spec, name, namespace)))
  }
  if (dropped.length > 0) notes.push(`description and version have no place in a Rule manifest and were left out (rules ${dropped.join(', ')})`)
  return { yaml: docs.join('---\n'), notes, problems }
}

function manifestOf(spec: RuleSpec, name: string, namespace: string | undefined): RuleManifest {
  const up = spec.upstream
  const out: RuleManifestSpec = {
    // Maester's CRD requires methods; none listed means none match, in both formats.
    match: { url: spec.match.url, methods: spec.match.methods ?? [] },
    ...(up?.url !== undefined && up.url !== '' && {
      upstream: {
        url: up.url,
        ...(up.strip_path !== undefined && { stripPath: up.strip_path }),
        ...(up.preserve_host === true && { preserveHost: true }),
      },
    }),
    ...(spec.authenticators !== undefined && { authenticators: spec.authenticators }),
    ...(spec.authorizer !== undefined && { authorizer: spec.authorizer }),
    ...(spec.mutators !== undefined && { mutators: spec.mutators }),
    ...(spec.errors !== undefined && { errors: spec.errors }),
    ...(spec.configMapName !== undefined && { configMapName: spec.configMapName }),
  }
  return { apiVersion: RULE_API_VERSION, kind: 'Rule', metadata: { name, ...(namespace !== undefined && { namespace }) }, spec: out }
}

/** A rule id as a Kubernetes object name: itself when valid, else lower-cased with other characters as "-". */
export function kubernetesName(id: string): string {
  if (DNS_SUBDOMAIN.test(id)) return id
  const parts = id
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .split('.')
    .map((p) => p.replace(/-+/g, '-').replace(/^-|-$/g, ''))
    .filter((p) => p !== '')
  return parts.join('.').slice(0, 253).replace(/[-.]+$/, '')
}

function yaml(value: unknown): string {
  // No line folding: a folded JSON line or template would be harder to read and to diff.
  return stringify(value, { lineWidth: 0 })
}
