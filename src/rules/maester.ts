/**
 * Kubernetes `Rule` manifests in ORY Oathkeeper Maester's format (`oathkeeper.ory.sh/v1alpha1`),
 * read without a controller: a rule document may hold them instead of an Oathkeeper array, and
 * each becomes the rule Maester would write to its ConfigMap. Maester's conversion is honoured
 * exactly: id `<name>.<namespace>`, camelCase upstream keys renamed, and missing handlers filled
 * with the closed-by-default `unauthorized` / `deny` / `noop`, so a manifest means the same here
 * as behind Maester + Oathkeeper.
 */
import { Ajv } from 'ajv'
import { isPlainObject } from '../util/deep-merge.js'
import { describeSchemaError } from './schema-errors.js'
import type { HandlerRef, RuleSpec } from './types.js'
import { once } from '../util/once.js'

/** The API group and version of Maester's Rule custom resource. */
export const RULE_API_VERSION = 'oathkeeper.ory.sh/v1alpha1'

/** Where a manifest without `metadata.namespace` lands (kubectl's default namespace). */
export const DEFAULT_NAMESPACE = 'default'

/** `spec` of a Rule manifest (Maester's CRD; camelCase where Oathkeeper uses snake_case). */
export interface RuleManifestSpec {
  readonly upstream?: { readonly url: string; readonly stripPath?: string; readonly preserveHost?: boolean }
  readonly match: { readonly url: string; readonly methods: readonly string[] }
  readonly authenticators?: readonly HandlerRef[]
  readonly authorizer?: HandlerRef
  readonly mutators?: readonly HandlerRef[]
  readonly errors?: readonly HandlerRef[]
  /** Maester writes the rule to this ConfigMap (in the rule's namespace) instead of its default one. */
  readonly configMapName?: string
}

/** A `kind: Rule` object as kubectl would apply it. */
export interface RuleManifest {
  readonly apiVersion: typeof RULE_API_VERSION
  readonly kind: 'Rule'
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown }
  readonly spec: RuleManifestSpec
}

/** The Oathkeeper rule Maester makes of a manifest, and where Maester would put it. */
export interface ManifestRule {
  readonly spec: RuleSpec
  readonly namespace: string
  readonly configMapName?: string
}

/** One manifest of a document: its label for messages (`Rule "api.prod"` or `Rule #3`), then the rule or its problems. */
export type ManifestResult =
  | { readonly label: string; readonly rule: ManifestRule; readonly problems?: undefined }
  | { readonly label: string; readonly problems: readonly string[] }

const handler = {
  type: 'object',
  properties: { handler: { type: 'string', minLength: 1 }, config: { type: 'object' } },
  required: ['handler'],
  additionalProperties: false,
} as const

// Kubernetes object names: what the API server would refuse is refused here too.
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'

/** Maester's CRD schema, closed where it owns the keys so a typo (`stripPaths`) is reported. */
const manifestSchema = {
  type: 'object',
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    // Open: labels, annotations and the server's fields (uid, managedFields…) of `kubectl get -o yaml`.
    metadata: {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 253, pattern: DNS_SUBDOMAIN },
        namespace: { type: 'string', maxLength: 63, pattern: DNS_LABEL },
      },
      required: ['name'],
    },
    spec: {
      type: 'object',
      properties: {
        upstream: {
          type: 'object',
          properties: { url: { type: 'string' }, stripPath: { type: 'string' }, preserveHost: { type: 'boolean' } },
          required: ['url'],
          additionalProperties: false,
        },
        match: {
          type: 'object',
          properties: { url: { type: 'string' }, methods: { type: 'array', items: { type: 'string' } } },
          required: ['url', 'methods'],
          additionalProperties: false,
        },
        authenticators: { type: 'array', items: handler },
        authorizer: handler,
        mutators: { type: 'array', items: handler },
        errors: { type: 'array', items: handler },
        configMapName: { type: 'string', minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN },
      },
      required: ['match'],
      additionalProperties: false,
    },
    // Written by Maester's controller; it has no meaning for a file.
    status: { type: 'object' },
  },
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
} as const

// Compiled once, on first use (as the Oathkeeper rule schema): its `errors` are read right after each call.
const validateManifest = once(() => new Ajv({ allErrors: true, strict: true }).compile<RuleManifest>(manifestSchema))

/** Whether a parsed document is a Kubernetes object (it says what it is) rather than Oathkeeper rules. */
export function isKubernetesObject(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && ('apiVersion' in value || 'kind' in value)
}

/**
 * The manifests a Kubernetes object document holds: itself when it is a Rule, the items of a
 * `List` (what `kubectl get -o yaml` prints) or a `RuleList`. Anything else is a problem: a
 * Deployment in a rules directory is more likely a mistake than something to skip silently.
 */
export function manifestsOf(doc: Record<string, unknown>): { items: readonly unknown[]; kindImplied: boolean } | { problem: string } {
  const { kind, apiVersion } = doc
  if (kind === 'Rule') return { items: [doc], kindImplied: false }
  if (kind === 'List' || kind === 'RuleList') {
    if (!Array.isArray(doc.items)) return { problem: `${String(kind)}: items: must be an array of Rule manifests` }
    // The API server's own RuleList JSON leaves apiVersion and kind out of its items.
    return { items: doc.items, kindImplied: kind === 'RuleList' }
  }
  if (typeof kind !== 'string') return { problem: 'kind: is required (a Kubernetes object says what it is: kind: Rule)' }
  return {
    problem:
      `kind "${kind}"${typeof apiVersion === 'string' ? ` (${apiVersion})` : ''} is not supported in a rule document: ` +
      `it may hold Oathkeeper rules (an array) or Rule manifests (apiVersion: ${RULE_API_VERSION}, kind: Rule), also in a List`,
  }
}

/**
 * Checks one manifest and converts it as Maester's controller does. `ordinal` (from 1, counting
 * the manifests of the file) labels a manifest whose name is unusable.
 */
export function convertManifest(value: unknown, ordinal: number, kindImplied = false): ManifestResult {
  const label = labelOf(value, ordinal)
  if (!isPlainObject(value)) return { label, problems: [`${label}: must be an object (a Rule manifest)`] }
  const item = kindImplied ? { apiVersion: RULE_API_VERSION, kind: 'Rule', ...value } : value
  if (item.kind !== 'Rule') {
    return { label, problems: [`${label}: kind: must be "Rule", got ${JSON.stringify(item.kind ?? null)}`] }
  }
  if (item.apiVersion !== RULE_API_VERSION) {
    return { label, problems: [`${label}: apiVersion: must be "${RULE_API_VERSION}", got ${JSON.stringify(item.apiVersion ?? null)}`] }
  }
  const validate = validateManifest()
  if (!validate(item)) {
    return { label, problems: (validate.errors ?? []).map((e) => `${label}: ${friendly(describeSchemaError(e, 'manifest'))}`) }
  }
  return { label, rule: ruleFromManifest(item) }
}

/** Maester's conversion of a valid manifest (its `ToRuleJSON`), keys in the order Maester writes them. */
export function ruleFromManifest(m: RuleManifest): ManifestRule {
  const namespace = m.metadata.namespace ?? DEFAULT_NAMESPACE
  const { upstream, match, authenticators, authorizer, mutators, errors, configMapName } = m.spec
  const spec: RuleSpec = {
    // Maester always writes an upstream; without one the rule serves the decision API only.
    upstream: {
      url: upstream?.url ?? '',
      ...(upstream?.stripPath !== undefined && { strip_path: upstream.stripPath }),
      preserve_host: upstream?.preserveHost ?? false,
    },
    id: `${m.metadata.name}.${namespace}`,
    match: { url: match.url, methods: match.methods },
    authenticators: authenticators ?? [{ handler: 'unauthorized' }],
    authorizer: authorizer ?? { handler: 'deny' },
    mutators: mutators ?? [{ handler: 'noop' }],
    ...(errors !== undefined && { errors }),
    // Maester's JSON carries it too (it copies the whole spec); the gateway ignores it.
    ...(configMapName !== undefined && { configMapName }),
  }
  return { spec, namespace, ...(configMapName !== undefined && { configMapName }) }
}

/** `Rule "name.namespace"` when the manifest has a name, else `Rule #ordinal`. */
function labelOf(value: unknown, ordinal: number): string {
  const meta = isPlainObject(value) ? value.metadata : undefined
  const name = isPlainObject(meta) ? meta.name : undefined
  if (typeof name !== 'string' || name === '') return `Rule #${ordinal}`
  const ns = isPlainObject(meta) && typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : DEFAULT_NAMESPACE
  return `Rule "${name}.${ns}"`
}

/** ajv's pattern message quotes the regular expression; say what it means instead. */
function friendly(problem: string): string {
  const chars = problem.includes('metadata.namespace: ') ? 'a-z, 0-9 and "-"' : 'a-z, 0-9, "-" and "."'
  return problem.replace(/: must match pattern "[^"]*"$/, `: must be a lower-case DNS name (${chars}, starting and ending with a letter or digit)`)
}
