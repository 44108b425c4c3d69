import { Ajv, type ErrorObject } from 'ajv'
import { parseDocument } from 'yaml'
import { ConfigError } from '../errors.js'
import { deepFreeze } from '../util/deep-merge.js'
import { ruleSchema } from './schema.js'
import type { RuleSpec } from './types.js'

// Compiled once: compiling per document would cost milliseconds per reload. The validator's
// `errors` property is overwritten by each call and read right after it, synchronously.
const validateRule = new Ajv({ allErrors: true, strict: true }).compile<RuleSpec>(ruleSchema)

/**
 * Parses one rule document (YAML, which includes JSON) into validated, frozen rule specs.
 * An empty document means "no rules". Every problem is collected and thrown at once as a
 * ConfigError whose problems name the source and the rule, e.g.
 * `rules/api.yml: rule "api-read" (#2): match.url: must be string` (rules are numbered from 1).
 * Duplicate map keys are an error too: which of the two did the author mean?
 */
export function parseRuleDocument(text: string, sourceName: string): RuleSpec[] {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true })
  if (doc.errors.length > 0) {
    // The first line holds the reason and position; the rest is a code frame for terminals.
    const problems = doc.errors.map((e) => `${sourceName}: ${firstLine(e.message)}`)
    throw new ConfigError(`${sourceName}: invalid YAML/JSON`, problems)
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 })
  if (value === null || value === undefined) return []
  if (!Array.isArray(value)) {
    throw new ConfigError(`${sourceName}: a rule document must be an array of rules, got ${typeName(value)}`)
  }

  const problems: string[] = []
  const firstIndexOfId = new Map<string, number>()
  value.forEach((rule: unknown, i) => {
    const label = ruleLabel(rule, i)
    if (!validateRule(rule)) {
      for (const e of validateRule.errors ?? []) problems.push(`${sourceName}: ${label}: ${describe(e)}`)
      return
    }
    const seen = firstIndexOfId.get(rule.id)
    if (seen !== undefined) {
      problems.push(`${sourceName}: ${label}: duplicate id, already used by rule #${seen + 1} of this file`)
    } else {
      firstIndexOfId.set(rule.id, i)
    }
  })
  if (problems.length > 0) throw new ConfigError(`${sourceName}: invalid rules`, problems)
  return deepFreeze(value as RuleSpec[])
}


function ruleLabel(rule: unknown, i: number): string {
  const id = typeof rule === 'object' && rule !== null ? (rule as { id?: unknown }).id : undefined
  return typeof id === 'string' && id !== '' ? `rule "${id}" (#${i + 1})` : `rule #${i + 1}`
}

/** `match.url: must be string`, `authenticators[0]: unknown key "hander"`, `id: is required`. */
function describe(e: ErrorObject): string {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc === '' ? seg : `${acc}.${seg}`), '')
  const at = (key: string): string => (path === '' ? key : `${path}.${key}`)
  switch (e.keyword) {
    case 'required':
      return `${at(String(e.params.missingProperty))}: is required`
    case 'additionalProperties':
      return `${path === '' ? 'rule' : path}: unknown key "${String(e.params.additionalProperty)}"`
    default:
      return `${path === '' ? 'rule' : path}: ${e.message ?? e.keyword}`
  }
}

function firstLine(s: string): string {
  const i = s.indexOf('\n')
  return (i === -1 ? s : s.slice(0, i)).replace(/:$/, '')
}

function typeName(v: unknown): string {
  return typeof v === 'object' ? (Array.isArray(v) ? 'an array' : 'an object') : `a ${typeof v}`
}
