/**
 * Output in the shapes of Ory's CLIs (ory/x cmdx): one item as a two-column HEADER/value table,
 * several as a table with a header row; `json` and `json-pretty` print the API's JSON; `--quiet`
 * prints only ids so the output can feed another command.
 */

/** `--format`. */
export type Format = 'table' | 'json' | 'json-pretty'

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
  /** HEADER/value lines printed after the table (e.g. the next page token), table format only. */
  readonly footer?: readonly (readonly [string, string])[]
}

/** Prints one item. */
export function printRow(out: OutputOptions, row: Row): void {
  if (out.quiet) return write(`${row.id}\n`)
  if (out.format !== 'table') return write(json(row.json, out.format))
  write(columns(row.header.map((h, i) => [h, row.values[i] ?? ''])))
}

/** Prints several items. */
export function printTable(out: OutputOptions, table: Table): void {
  if (out.quiet) return write(table.ids.map((id) => `${id}\n`).join(''))
  if (out.format !== 'table') return write(json(table.json, out.format))
  let text = columns([table.header, ...table.rows])
  if (table.footer !== undefined && table.footer.length > 0) text += `\n${columns(table.footer)}`
  write(text)
}

function json(value: unknown, format: Format): string {
  return `${format === 'json-pretty' ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n`
}

/**
 * Left-aligned columns two spaces apart; the last column is not padded, so lines carry no
 * trailing blanks.
 */
export function columns(rows: readonly (readonly string[])[]): string {
  const n = Math.max(0, ...rows.map((r) => r.length))
  const widths: number[] = []
  for (let i = 0; i < n - 1; i++) widths.push(Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows
    .map((r) => {
      const cells = Array.from({ length: n }, (_, i) => r[i] ?? '')
      return cells.map((c, i) => (i < n - 1 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd()
    })
    .map((line) => `${line}\n`)
    .join('')
}

function write(text: string): void {
  process.stdout.write(text)
}

/** A list as Hydra's tables show it. */
export function joinList(v: unknown): string {
  return Array.isArray(v) ? v.map(String).join(', ') : ''
}

/** A string field, or '' when absent. */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v)
}

/** A Unix time in seconds as an ISO date, or '' when absent. */
export function unixTime(v: unknown): string {
  return typeof v === 'number' && v > 0 ? new Date(v * 1000).toISOString().replace('.000Z', 'Z') : ''
}
