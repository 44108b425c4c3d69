/**
 * The `when` conditions of error handlers (Oathkeeper's `errors.handlers.<id>.config.when`):
 *
 * ```yaml
 * when:
 *   - error: [unauthorized, forbidden]         # ErrorKind of the error
 *     request:
 *       cidr: [127.0.0.0/8, ::1/128]           # client address in one of them
 *       remote_ip: { match: [10.0.0.0/8], respect_forwarded_for_header: true }  # Oathkeeper's spelling
 *       header:
 *         content_type: [application/json]     # media type of the request body
 *         accept: [application/json, text/*]   # a media range the client accepts
 * ```
 *
 * Conditions of the list are OR-ed, the fields inside one condition AND-ed, the values of one
 * field OR-ed; an absent or empty field matches anything. Everything is parsed at load time;
 * a request only runs set lookups, BlockList checks and a scan of its Accept header.
 */
import { BlockList, isIP } from 'node:net'
import { ConfigError, type ErrorKind, type GatehouseError } from '../../errors.js'
import type { PipelineRequest } from '../session.js'

/** True when the error handler applies to this error and request. */
export type WhenMatcher = (err: GatehouseError, req: PipelineRequest) => boolean

// A Record so the compiler fails when ErrorKind gains a member that is missing here.
const KINDS: Readonly<Record<ErrorKind, true>> = {
  unauthorized: true,
  forbidden: true,
  not_found: true,
  internal_server_error: true,
  bad_request: true,
  bad_gateway: true,
  gateway_timeout: true,
  service_unavailable: true,
  too_many_requests: true,
  payload_too_large: true,
}
const ERROR_KINDS: readonly string[] = Object.freeze(Object.keys(KINDS))

const stringList = { type: 'array', items: { type: 'string', minLength: 1 } }

/** JSON schema (draft-07, ajv strict) of a `when` list; `null` is what an empty YAML key gives. */
export const whenSchema: Readonly<Record<string, unknown>> = {
  type: ['array', 'null'],
  items: {
    type: 'object',
    additionalProperties: false,
    properties: {
      error: { type: 'array', items: { type: 'string', enum: ERROR_KINDS } },
      request: {
        type: 'object',
        additionalProperties: false,
        properties: {
          cidr: stringList,
          remote_ip: {
            type: 'object',
            additionalProperties: false,
            properties: { match: stringList, respect_forwarded_for_header: { type: 'boolean' } },
          },
          header: {
            type: 'object',
            additionalProperties: false,
            properties: { content_type: stringList, accept: stringList },
          },
        },
      },
    },
  },
}

type Check = WhenMatcher
const ALWAYS: WhenMatcher = () => true

/**
 * Compiles a `when` list (the raw config value). Every problem is collected and thrown as one
 * ConfigError whose messages start with `where`.
 */
export function compileWhen(when: unknown, where: string): WhenMatcher {
  if (when === undefined || when === null) return ALWAYS
  if (!Array.isArray(when)) throw new ConfigError(`${where}: when must be a list of conditions`)
  const problems: string[] = []
  const conditions = when.map((c, i) => compileCondition(c, `${where}: when[${i}]`, problems))
  if (problems.length > 0) {
    throw new ConfigError(problems.length === 1 ? problems[0]! : `${where}: invalid when conditions`, problems)
  }
  return anyOf(conditions)
}

function compileCondition(c: unknown, path: string, problems: string[]): Check {
  if (!isObject(c, path, problems)) return ALWAYS
  unknownKeys(c, ['error', 'request'], path, problems)
  const checks: Check[] = []
  const errors = strings(c.error, `${path}.error`, problems)
  if (errors !== undefined && errors.length > 0) {
    for (const e of errors) {
      if (!Object.hasOwn(KINDS, e)) problems.push(`${path}.error: unknown error "${e}" (known: ${ERROR_KINDS.join(', ')})`)
    }
    const kinds: ReadonlySet<string> = new Set(errors)
    checks.push((err) => kinds.has(err.kind))
  }
  if (c.request !== undefined && c.request !== null) compileRequest(c.request, `${path}.request`, problems, checks)
  return allOf(checks)
}

function compileRequest(r: unknown, path: string, problems: string[], checks: Check[]): void {
  if (!isObject(r, path, problems)) return
  unknownKeys(r, ['cidr', 'remote_ip', 'header'], path, problems)
  const cidrs: Array<readonly [cidr: string, at: string]> = (strings(r.cidr, `${path}.cidr`, problems) ?? []).map(
    (s, i) => [s, `${path}.cidr[${i}]`],
  )
  let forwarded = false
  if (r.remote_ip !== undefined && r.remote_ip !== null && isObject(r.remote_ip, `${path}.remote_ip`, problems)) {
    const ip = r.remote_ip
    unknownKeys(ip, ['match', 'respect_forwarded_for_header'], `${path}.remote_ip`, problems)
    const match = strings(ip.match, `${path}.remote_ip.match`, problems) ?? []
    match.forEach((s, i) => cidrs.push([s, `${path}.remote_ip.match[${i}]`]))
    const f = ip.respect_forwarded_for_header
    if (f !== undefined && f !== null && typeof f !== 'boolean') {
      problems.push(`${path}.remote_ip.respect_forwarded_for_header must be true or false`)
    }
    forwarded = f === true
  }
  if (cidrs.length > 0) {
    const list = new BlockList()
    for (const [text, at] of cidrs) addCidr(list, text, at, problems)
    checks.push(addressCheck(list, forwarded))
  }
  if (r.header === undefined || r.header === null || !isObject(r.header, `${path}.header`, problems)) return
  unknownKeys(r.header, ['content_type', 'accept'], `${path}.header`, problems)
  const contentTypes = mediaRanges(r.header.content_type, `${path}.header.content_type`, problems)
  if (contentTypes.length > 0) checks.push((_e, req) => contentTypeMatches(req.headers['content-type'], contentTypes))
  const accepts = mediaRanges(r.header.accept, `${path}.header.accept`, problems)
  if (accepts.length > 0) checks.push((_e, req) => acceptMatches(req.headers.accept, accepts))
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address meaning that one host. */
function addCidr(list: BlockList, text: string, path: string, problems: string[]): void {
  const slash = text.indexOf('/')
  const address = slash === -1 ? text : text.slice(0, slash)
  const family = address.includes('%') ? 0 : isIP(address)
  const max = family === 4 ? 32 : 128
  const prefix = slash === -1 ? max : /^\d{1,3}$/.test(text.slice(slash + 1)) ? Number(text.slice(slash + 1)) : NaN
  if (family === 0 || !(prefix <= max)) {
    problems.push(`${path}: "${text}" is not a valid CIDR (e.g. 10.0.0.0/8 or fd00::/8)`)
    return
  }
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6')
}

/** BlockList also matches IPv4-mapped IPv6 (`::ffff:127.0.0.1`) against IPv4 subnets and back. */
function addressCheck(list: BlockList, forwarded: boolean): Check {
  const has = (address: string): boolean => {
    const family = isIP(address)
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6')
  }
  if (!forwarded) return (_e, req) => has(req.remoteAddress)
  // Oathkeeper's respect_forwarded_for_header: any X-Forwarded-For hop may match. Only safe
  // when a trusted proxy in front sets that header; clients can write anything into it.
  return (_e, req) => {
    if (has(req.remoteAddress)) return true
    const xff = req.headers['x-forwarded-for']
    if (xff === undefined) return false
    for (const hop of (Array.isArray(xff) ? xff.join(',') : xff).split(',')) if (has(hop.trim())) return true
    return false
  }
}

const TOKEN = "[a-z0-9!#$%&'*+.^_`|~-]+"
/** type/subtype, `type/*` or `*\/*` (lower case). */
const MEDIA_RANGE = new RegExp(`^(?:\\*/\\*|${TOKEN}/(?:\\*|${TOKEN}))$`)

/** Condition values, lower-cased, parameters dropped (Oathkeeper ignores them too). */
function mediaRanges(v: unknown, path: string, problems: string[]): readonly string[] {
  const out: string[] = []
  for (const raw of strings(v, path, problems) ?? []) {
    const range = raw.split(';')[0]!.trim().toLowerCase()
    if (MEDIA_RANGE.test(range)) out.push(range)
    else problems.push(`${path}: "${raw}" is not a media type (e.g. application/json, text/*, */*)`)
  }
  return out
}

/**
 * Oathkeeper's rule: a condition `*\/*` matches anything, `type/*` matches that type, others
 * match exactly. A client's wildcard is taken literally (`Accept: *\/*` does not match
 * `text/html`), so browsers that accept everything do not hit every handler.
 */
function rangeMatches(actual: string, conditions: readonly string[]): boolean {
  for (const m of conditions) {
    if (m === '*/*' || m === actual) return true
    if (m.endsWith('/*') && actual.startsWith(m.slice(0, -1))) return true
  }
  return false
}

// Both headers default as in Oathkeeper: a request without them "sends" application/octet-stream.
const DEFAULT_MEDIA = 'application/octet-stream'

function contentTypeMatches(header: string | undefined, conditions: readonly string[]): boolean {
  if (header === undefined || header.trim() === '') return rangeMatches(DEFAULT_MEDIA, conditions)
  const type = header.split(';')[0]!.trim().toLowerCase()
  return MEDIA_RANGE.test(type) && rangeMatches(type, conditions)
}

/** True when a range the client accepts (q > 0) matches a condition. */
function acceptMatches(header: string | undefined, conditions: readonly string[]): boolean {
  if (header === undefined || header.trim() === '') return rangeMatches(DEFAULT_MEDIA, conditions)
  for (const part of header.split(',')) {
    const [rangeText, ...params] = part.split(';')
    let range = rangeText!.trim().toLowerCase()
    if (range === '*') range = '*/*' // old Java clients send a bare "*"
    if (!MEDIA_RANGE.test(range)) continue
    let q = 1
    for (const p of params) {
      const eq = p.indexOf('=')
      if (eq !== -1 && p.slice(0, eq).trim().toLowerCase() === 'q') q = Number(p.slice(eq + 1).trim())
    }
    // q=0 means "not acceptable" (RFC 9110 §12.4.2); a malformed q (NaN) is ignored like one.
    if (q > 0 && rangeMatches(range, conditions)) return true
  }
  return false
}

function anyOf(checks: readonly Check[]): Check {
  if (checks.length === 0) return ALWAYS
  if (checks.length === 1) return checks[0]!
  return (err, req) => checks.some((c) => c(err, req))
}

function allOf(checks: readonly Check[]): Check {
  if (checks.length === 0) return ALWAYS
  if (checks.length === 1) return checks[0]!
  return (err, req) => checks.every((c) => c(err, req))
}

function isObject(v: unknown, path: string, problems: string[]): v is Record<string, unknown> {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return true
  problems.push(`${path} must be an object`)
  return false
}

function unknownKeys(o: Record<string, unknown>, known: readonly string[], path: string, problems: string[]): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) problems.push(`${path}: unknown key "${k}" (known: ${known.join(', ')})`)
  }
}

function strings(v: unknown, path: string, problems: string[]): string[] | undefined {
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '')) {
    problems.push(`${path} must be a list of non-empty strings`)
    return undefined
  }
  return v as string[]
}
