import { readFileSync } from 'node:fs'
import { CliError } from './errors.js'

/** One input of an import verb: where it came from (for messages) and its bytes. */
export interface Input {
  readonly source: string
  readonly content: Buffer
}

/**
 * The inputs of `import …`: each file, `-` for stdin, and stdin alone when no file is named
 * (Hydra reads stdin then too). All are read before anything is sent, so an unreadable file
 * fails the command before it changed anything.
 */
export function readInputs(paths: readonly string[]): Input[] {
  const list = paths.length === 0 ? ['-'] : paths
  return list.map((p) => {
    try {
      return { source: p === '-' ? 'STDIN' : p, content: readFileSync(p === '-' ? 0 : p) }
    } catch (err) {
      throw new CliError(`could not open file ${p}: ${(err as Error).message}`)
    }
  })
}
