/**
 * The table layout of Ory's CLIs: Go's `text/tabwriter` as ory/x cmdx sets it up
 * (`tabwriter.NewWriter(w, 0, 8, 1, '\t', 0)`). Cells are padded with tabs, not spaces, to the
 * next multiple of 8 columns past the widest cell of their column block, so output matches
 * Hydra byte for byte and `cut -f`/`awk -F'\t'` scripts written against Hydra keep working.
 */

const TAB_WIDTH = 8
/** cmdx's padding: at least one tab after every cell. */
const PADDING = 1

/** Lays out tab-terminated cells (`a\tb\t\n`) the way tabwriter does, column block by column block. */
export function tabwrite(text: string, padding: number = PADDING): string {
  // Each line's cells: all but the last are tab-terminated and belong to columns; the last is trailing text.
  const lines = text.split('\n').map((l) => l.split('\t'))
  const out: string[] = []
  format(lines, [], 0, lines.length, padding, out)
  return out.join('')
}

/**
 * A column block is a run of consecutive lines that all have a terminated cell in this column;
 * its width is the widest such cell plus the padding. Blocks nest to the right (Go's recursion).
 */
function format(lines: readonly string[][], widths: number[], line0: number, line1: number, pad: number, out: string[]): void {
  const column = widths.length
  for (let i = line0; i < line1; i++) {
    if (column >= lines[i]!.length - 1) continue
    writeLines(lines, widths, line0, i, out)
    line0 = i
    let width = 0
    for (; i < line1; i++) {
      const line = lines[i]!
      if (column >= line.length - 1) break
      width = Math.max(width, runes(line[column]!) + pad)
    }
    widths.push(width)
    format(lines, widths, line0, i, pad, out)
    widths.pop()
    line0 = i
  }
  writeLines(lines, widths, line0, line1, out)
}

function writeLines(lines: readonly string[][], widths: readonly number[], line0: number, line1: number, out: string[]): void {
  for (let i = line0; i < line1; i++) {
    const line = lines[i]!
    line.forEach((cell, j) => {
      out.push(cell)
      if (j < widths.length) out.push(tabs(runes(cell), widths[j]!))
    })
    // The text after the last newline is an unterminated line: no newline of its own.
    if (i + 1 < lines.length) out.push('\n')
  }
}

/** Tabs from the end of a cell's text to the next tab stop at or past the column width. */
function tabs(textWidth: number, cellWidth: number): string {
  const stop = Math.ceil(cellWidth / TAB_WIDTH) * TAB_WIDTH
  return '\t'.repeat(Math.ceil((stop - textWidth) / TAB_WIDTH))
}

/** tabwriter counts UTF-8 characters, not UTF-16 units. */
function runes(s: string): number {
  let n = 0
  for (const _ of s) n++
  return n
}
