import type { ErrorObject } from 'ajv'

/**
 * One ajv error as a reader-friendly line with a dotted path: `match.url: must be string`,
 * `authenticators[0]: unknown key "hander"`, `id: is required`. `root` names the object itself
 * when the error is about the whole thing (`rule: unknown key "matches"`).
 */
export function describeSchemaError(e: ErrorObject, root: string): string {
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
      return `${path === '' ? root : path}: unknown key "${String(e.params.additionalProperty)}"`
    default:
      return `${path === '' ? root : path}: ${e.message ?? e.keyword}`
  }
}
