import { Ajv } from 'ajv'
import { parseAllDocuments } from 'yaml'
import { ConfigError } from '../errors.js'
import { deepFreeze } from '../util/deep-merge.js'
import { parseJsonDocument } from './json-document.js'
import { convertManifest, isKubernetesObject, manifestsOf } from './maester.js'
import { ruleSchema } from './schema.js'
import { describeSchemaError } from './schema-errors.js'
import type { RuleSpec } from './types.js'
import { once } from '../util/once.js'

// Compiled once, on first use: compiling per document would cost milliseconds per reload. The
// validator's `errors` property is overwritten by each call and read right after it, synchronously.
const validateRule = once(() => new Ajv({ allErrors: true, strict: true }).compile<RuleSpec>(ruleSchema))

/** A rule of a document, with what messages and converters need to know about it. */
export interface ParsedRule {
  readonly spec: RuleSpec
  /** How problems name it: `rule "api-read" (#2)` (Oathkeeper) or `Rule "api.prod"` (manifest). */
  readonly label: string
  /** Set when the rule came from a Kubernetes Rule manifest: where Maester would put it. */
  readonly manifest?: { readonly namespace: string; readonly configMapName?: string }
}

/**
 * Parses one rule document (YAML, which includes JSON) into validated, frozen rule specs.
 * An empty document means "no rules". Every problem is collected and thrown at once as a
 * ConfigError whose problems name the source and the rule, e.g.
 * `rules/api.yml: rule "api-read" (#2): match.url: must be string` (rules are numbered from 1).
 * Duplicate map keys are an error too: which of the two did the author mean?
 *
 * A document is an array of Oathkeeper rules, or Kubernetes `Rule` manifests in Maester's format
 * (see maester.ts), one per YAML document (`---`) or in a `List`; both may share a file.
 */
export function parseRuleDocument(text: string, sourceName: string): RuleSpec[] {
  return Object.freeze(readRuleDocument(text, sourceName).map((r) => r.spec)) as RuleSpec[]
}

/** parseRuleDocument, keeping each rule's label and manifest origin. */
export function readRuleDocument(text: string, sourceName: string): ParsedRule[] {
  const json = parseJsonDocument(text)
  return readValues(json === undefined ? yamlValues(text, sourceName) : [json.value], sourceName)
}

/** The values of a YAML (or JSON) text's documents; ConfigError naming the source when it is not valid. */
function yamlValues(text: string, sourceName: string): unknown[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true })
  const yamlErrors = 'empty' in docs ? docs.errors : docs.flatMap((d) => d.errors)
  if (yamlErrors.length > 0) {
    // The first line holds the reason and position; the rest is a code frame for terminals.
    const problems = yamlErrors.map((e) => `${sourceName}: ${firstLine(e.message)}`)
    throw new ConfigError(`${sourceName}: invalid YAML/JSON`, problems)
  }
  let values: unknown[]
  try {
    values = 'empty' in docs ? [] : docs.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown)
  } catch (err) {
    // toJS throws rather than reports: an alias whose anchor is never set (`- *x`), an alias
    // bomb (past maxAliasCount), nesting deeper than the stack.
    throw new ConfigError(`${sourceName}: invalid YAML/JSON`, [`${sourceName}: ${firstLine((err as Error).message)}`])
  }
  return values
}

function readValues(values: readonly unknown[], sourceName: string): ParsedRule[] {
  const reader = new DocumentReader(sourceName)
  // Positions of rules count across the file; a document is named only when there are several.
  values.forEach((value, i) => reader.add(value, values.length > 1 ? `document #${i + 1}: ` : ''))
  if (reader.problems.length > 0) throw new ConfigError(`${sourceName}: invalid rules`, reader.problems)
  return reader.rules
}

/**
 * Semantic Versioning 2.0.0 (MAJOR.MINOR.PATCH, optional pre-release and build), optionally
 * prefixed with "v": what Oathkeeper's rule migrator accepts (blang/semver after TrimPrefix "v").
 */
const NUM = '(?:0|[1-9]\\d*)'
const PRE_ID = '(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)'
const SEMVER = new RegExp(`^v?${NUM}\\.${NUM}\\.${NUM}(?:-${PRE_ID}(?:\\.${PRE_ID})*)?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$`)

/** Collects the rules and problems of one file's documents, numbering rules across the file. */
class DocumentReader {
  readonly rules: ParsedRule[] = []
  readonly problems: string[] = []
  /** id → how the first rule with it is referred to (`rule #1`, `Rule #2`). */
  readonly #firstById = new Map<string, string>()
  #oathkeeperRules = 0
  #manifests = 0

  constructor(private readonly source: string) {}

  add(value: unknown, where: string): void {
    if (value === null || value === undefined) return
    if (Array.isArray(value)) {
      for (const rule of value) this.#addOathkeeperRule(rule)
    } else if (isKubernetesObject(value)) {
      const found = manifestsOf(value)
      if ('problem' in found) this.problems.push(`${this.source}: ${where}${found.problem}`)
      else for (const item of found.items) this.#addManifest(item, found.kindImplied)
    } else {
      this.problems.push(`${this.source}: ${where}a rule document must be an array of rules or Kubernetes Rule manifests, got ${typeName(value)}`)
    }
  }

  #addOathkeeperRule(rule: unknown): void {
    const n = ++this.#oathkeeperRules
    const label = ruleLabel(rule, n)
    const validate = validateRule()
    if (!validate(rule)) {
      for (const e of validate.errors ?? []) this.problems.push(`${this.source}: ${label}: ${describeSchemaError(e, 'rule')}`)
      return
    }
    this.#accept({ spec: rule, label }, `rule #${n}`)
  }

  #addManifest(item: unknown, kindImplied: boolean): void {
    const n = ++this.#manifests
    const result = convertManifest(item, n, kindImplied)
    if (result.problems !== undefined) {
      for (const p of result.problems) this.problems.push(`${this.source}: ${p}`)
      return
    }
    const { spec, namespace, configMapName } = result.rule
    this.#accept({ spec, label: result.label, manifest: { namespace, ...(configMapName !== undefined && { configMapName }) } }, `Rule #${n}`)
  }

  #accept(rule: ParsedRule, ref: string): void {
    const version = rule.spec.version
    if (version !== undefined && version !== '' && !SEMVER.test(version)) {
      // Oathkeeper parses it (for its rule migrations) and refuses the file when it cannot.
      this.problems.push(`${this.source}: ${rule.label}: version: "${version}" is not a semantic version (e.g. v0.40.0 or 0.40.0)`)
      return
    }
    const seen = this.#firstById.get(rule.spec.id)
    if (seen !== undefined) {
      this.problems.push(`${this.source}: ${rule.label}: duplicate id, already used by ${seen} of this file`)
      return
    }
    this.#firstById.set(rule.spec.id, ref)
    this.rules.push(deepFreeze(rule))
  }
}

function ruleLabel(rule: unknown, n: number): string {
  const id = typeof rule === 'object' && rule !== null ? (rule as { id?: unknown }).id : undefined
  return typeof id === 'string' && id !== '' ? `rule "${id}" (#${n})` : `rule #${n}`
}

function firstLine(s: string): string {
  const i = s.indexOf('\n')
  return (i === -1 ? s : s.slice(0, i)).replace(/:$/, '')
}

function typeName(v: unknown): string {
  return typeof v === 'object' ? (Array.isArray(v) ? 'an array' : 'an object') : `a ${typeof v}`
}
