/**
 * Go text/template-compatible templates for rules (header mutator, id_token claims, cookies,
 * remote_json payloads), with Oathkeeper's function set: Go's builtins, Oathkeeper's `print`
 * and `printIndex`, and a sprig subset. Compiled once at rule-load time into closures.
 *
 * Deliberate differences from Oathkeeper (Go + missingkey=zero), all of them cases where Go
 * fails and we do not: a field of a missing or null value reads as missing instead of failing
 * ("nil pointer evaluating interface {}.b"); numbers compare by value whether they come from
 * a literal or from JSON (`eq .Extra.n 1`); `printf "%d"` accepts an integral JSON number;
 * `print` accepts any number of arguments. Wrong argument counts and arguments given to
 * non-functions are reported at load time instead of per request.
 */
import { ConfigError, GatehouseError } from '../errors.js'
import { compileList, type State } from './template/exec.js'
import { TemplateSyntaxError } from './template/lexer.js'
import { parse, type Parsed } from './template/parser.js'
import { ExecError } from './template/values.js'

/** Renders a compiled template; a runtime failure throws GatehouseError GATEHOUSE_ERR_TEMPLATE. */
export type Template = (data: unknown) => string

/**
 * Compiles once at rule-load time. Throws ConfigError on syntax errors or unknown functions,
 * naming the template, line and column and quoting the template text.
 */
export function compileTemplate(source: string, name = 'template'): Template {
  let parsed: Parsed
  try {
    parsed = parse(source)
  } catch (err) {
    if (!(err instanceof TemplateSyntaxError)) throw err
    throw new ConfigError(`${where(name, source, err.pos)}: ${err.message} in ${excerpt(source)}`)
  }
  const { nodes, slots } = parsed
  // Plain text (most header values without actions) needs no execution at all.
  if (nodes.length === 0) return () => ''
  const only = nodes[0]!
  if (nodes.length === 1 && only.t === 'text') {
    const text = only.text
    return () => text
  }
  const run = compileList(nodes)
  return (data) => {
    const st: State = { out: '', vars: new Array<unknown>(slots), steps: 0 }
    st.vars[0] = data
    try {
      run(st, data)
    } catch (err) {
      const pos = err instanceof ExecError ? err.pos : undefined
      const message = err instanceof Error ? err.message : String(err)
      throw new GatehouseError('GATEHOUSE_ERR_TEMPLATE', {
        reason: `${pos === undefined ? `template: ${name}` : where(name, source, pos)}: ${message}`,
        details: { template: name },
        cause: err,
      })
    }
    return st.out
  }
}

/** Go's "template: NAME:LINE:COL" prefix (column 1-based). */
function where(name: string, source: string, pos: number): string {
  const before = source.slice(0, pos)
  const line = before.split('\n').length
  const col = pos - before.lastIndexOf('\n')
  return `template: ${name}:${line}:${col}`
}

const excerpt = (source: string): string => JSON.stringify(source.length > 120 ? `${source.slice(0, 117)}...` : source)
