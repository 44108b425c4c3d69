import { InvalidArgumentError } from 'commander'
import { stringify } from 'yaml'
import { gjsonPath, jsonPointer } from './json-paths.js'
import { tabwrite } from './tabwriter.js'

/**
 * Output in the shapes of Ory's CLIs (ory/x cmdx): one item as a HEADER<tab>value table, several
 * as a table with a header row, both laid out by Go's tabwriter (tabwriter.ts); `json`,
 * `json-pretty`, `yaml`, `jsonpath=…` and `jsonpointer=…` print the API's JSON or part of it;
 * `--quiet` prints only ids so the output can feed another command.
 */

/** `--format`, parsed. */
export type Format =
  | { readonly kind: 'table' | 'json' | 'json-pretty' | 'yaml' }
  | { readonly kind: 'jsonpath' | 'jsonpointer'; readonly path: string }

export const FORMAT_NAMES = 'table, json, json-pretty, yaml, jsonpath=<path>, jsonpointer=<pointer>'

/** Commander parser for `--format`. */
export function parseFormat(value: string): Format {
  if (value === 'table' || value === 'json' || value === 'json-pretty' || value === 'yaml') return { kind: value }
  const m = /^(jsonpath|jsonpointer)(=?)(.*)$/s.exec(value)
  if (m !== null) {
    const kind = m[1] as 'jsonpath' | 'jsonpointer'
    if (m[2] === '') throw new InvalidArgumentError(`${kind} needs a ${kind === 'jsonpath' ? 'path' : 'pointer'}, e.g. --format '${kind}=${kind === 'jsonpath' ? 'client_id' : '/client_id'}'`)
    return { kind, path: m[3]! }
  }
  throw new InvalidArgumentError(`must be one of ${FORMAT_NAMES}`)
}

export const TABLE: Format = { kind: 'table' }

/** `--format` and `-q/--quiet`, as every verb has them. */
export interface OutputOptions {
  readonly format: Format
  readonly quiet: boolean
}

/** One item: its table view, its JSON and the value `--quiet` prints. */
export interface Row {
  readonly header: readonly string[]
  readonly values: readonly string[]
  readonly json: unknown
  readonly id: string
}

/** Several items: one table row each. */
export interface Table {
  readonly header: readonly string[]
  readonly rows: readonly (readonly string[])[]
  readonly json: unknown
  readonly ids: readonly string[]
  /** HEADER/value rows after an empty row (cmdx's PaginatedList: the next page token), table format only. */
  readonly footer?: readonly (readonly [string, string])[]
}

/** Prints one item. */
export function printRow(out: OutputOptions, row: Row): void {
  if (out.quiet) return write(`${row.id}\n`)
  if (out.format.kind !== 'table') return write(serialize(row.json, out.format))
  write(tabwrite(row.header.map((h, i) => `${h}\t${row.values[i] ?? ''}\t\n`).join('')))
}

/** Prints several items. */
export function printTable(out: OutputOptions, table: Table): void {
  if (out.quiet) return write(table.ids.length === 0 ? '\n' : table.ids.map((id) => `${id}\n`).join(''))
  if (out.format.kind !== 'table') return write(serialize(table.json, out.format))
  const rows = [...table.rows]
  if (table.footer !== undefined) rows.push([], ...table.footer)
  write(tabwrite(table.header.map((h) => `${h}\t`).join('') + '\n' + rows.map((r) => `${r.join('\t')}\t\n`).join('')))
}

/** Hydra prints ids as an `ID` row (one) or table (several); json is the id or the list of ids. */
export function printIds(out: OutputOptions, ids: readonly string[]): void {
  if (ids.length === 0) return
  if (ids.length === 1) printRow(out, { header: ['ID'], values: [ids[0]!], json: ids[0], id: ids[0]! })
  else printTable(out, { header: ['ID'], rows: ids.map((id) => [id]), json: ids, ids })
}

/** Every format but `table`; jsonpath and jsonpointer print indented, as cmdx does. */
export function serialize(value: unknown, format: Format): string {
  switch (format.kind) {
    case 'json':
      return `${JSON.stringify(value ?? null)}\n`
    case 'yaml':
      return stringify(value ?? null)
    case 'jsonpath':
      return `${JSON.stringify(gjsonPath(value, format.path), null, 2)}\n`
    case 'jsonpointer':
      return `${JSON.stringify(jsonPointer(value, format.path) ?? null, null, 2)}\n`
    default:
      return `${JSON.stringify(value ?? null, null, 2)}\n`
  }
}

function write(text: string): void {
  process.stdout.write(text)
}

/** A list as Hydra's tables show it: `", "`-joined (`","` for audiences, as Hydra does). */
export function joinList(v: unknown, sep = ', '): string {
  return Array.isArray(v) ? v.map(String).join(sep) : ''
}

/** A string field, or '' when absent. */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v)
}

/**
 * A time as Go's `time.Time.String()` prints it in the local zone, which is what Hydra's tables
 * show: `2006-01-02 15:04:05 -0700 MST`.
 */
export function goTime(d: Date): string {
  const p = (n: number, w = 2): string => String(Math.abs(n)).padStart(w, '0')
  const off = -d.getTimezoneOffset()
  const sign = off < 0 ? '-' : '+'
  const hhmm = `${p(Math.trunc(off / 60))}${p(off % 60)}`
  const date = `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
  return `${date} ${sign}${hhmm} ${zoneAbbreviation(d, sign, hhmm)}`
}

/**
 * The zone's abbreviation (UTC, CET, EST) from ICU's English names; where ICU has none it prints
 * the offset as Go does for zones without one (`+09`, `+0530`).
 */
function zoneAbbreviation(d: Date, sign: string, hhmm: string): string {
  for (const locale of ['en-US', 'en-GB']) {
    const name = new Intl.DateTimeFormat(locale, { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName')?.value ?? ''
    if (/^[A-Z]{2,5}$/.test(name)) return name
  }
  if (hhmm === '0000') return 'UTC'
  return `${sign}${hhmm.endsWith('00') ? hhmm.slice(0, 2) : hhmm}`
}

/** A Unix time in seconds as Hydra's tables print it; 0 or absent is the epoch, as in Go. */
export function unixTime(v: unknown): string {
  return goTime(new Date((typeof v === 'number' ? v : 0) * 1000))
}
