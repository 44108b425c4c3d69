/**
 * Turns the parsed tree into nested closures, once per template at rule-load time. Executing
 * walks only closures: no parsing, no function-name or variable-name lookups per request.
 */
import { printTop } from './format.js'
import type { FuncDef } from './funcs.js'
import type { Arg, Cmd, Node, Pipe } from './parser.js'
import { ExecError, fieldReader, isMap, isNil, sortedKeys, truth, type FieldReader } from './values.js'

export interface State {
  out: string
  /** Variable slots resolved by the parser; slot 0 is `$`. */
  readonly vars: unknown[]
  /** Range iterations run so far in this rendering (see MAX_RANGE_STEPS). */
  steps: number
}

/**
 * Bounds of one rendering. Go has none, but here a template runs on every request: `{{ range
 * 300000000 }}` would hold the event loop for half a minute, and nested ranges over a client's
 * header (`splitList "" …`) grow with its length. Templates that fill headers, claims and small
 * payloads stay far below both.
 */
export const MAX_RANGE_STEPS = 100_000
/** Characters one rendering may write (1 MiB); more cannot go into a header or a sane payload. */
export const MAX_OUTPUT = 1 << 20

function write(st: State, s: string): Signal {
  st.out += s
  if (st.out.length > MAX_OUTPUT) throw new ExecError(`the template output is longer than ${MAX_OUTPUT} characters`)
  return 0
}
/** 0: carry on; BREAK/CONTINUE travel up to the enclosing range. */
type Signal = 0 | 1 | 2
const BREAK = 1
const CONTINUE = 2
export type Exec = (st: State, dot: unknown) => Signal
type Eval = (st: State, dot: unknown) => unknown
/** A pipeline stage; `final` is the previous stage's value, or NONE for the first stage. */
type CmdEval = (st: State, dot: unknown, final: unknown) => unknown
const NONE: unique symbol = Symbol('none')
const NO_ARGS: readonly unknown[] = []

export function compileList(nodes: readonly Node[]): Exec {
  const execs = nodes.map(compileNode)
  if (execs.length === 1) return execs[0]!
  return (st, dot) => {
    for (const e of execs) {
      const s = e(st, dot)
      if (s !== 0) return s
    }
    return 0
  }
}

function compileNode(n: Node): Exec {
  switch (n.t) {
    case 'text': {
      const text = n.text
      return (st) => write(st, text)
    }
    case 'action': {
      const ev = compilePipe(n.pipe)
      // A declaration prints nothing.
      if (n.pipe.decl.length > 0) return (st, dot) => (ev(st, dot), 0)
      return (st, dot) => write(st, printTop(ev(st, dot)))
    }
    case 'if': case 'with': {
      const cond = compilePipe(n.pipe)
      const body = compileList(n.list)
      const orElse = n.elseList ? compileList(n.elseList) : (): Signal => 0
      if (n.t === 'if') return (st, dot) => (truth(cond(st, dot)) ? body(st, dot) : orElse(st, dot))
      return (st, dot) => {
        const v = cond(st, dot)
        return truth(v) ? body(st, v) : orElse(st, dot)
      }
    }
    case 'range':
      return compileRange(n.pipe, compileList(n.list), n.elseList ? compileList(n.elseList) : null, n.pos)
    case 'break':
      return () => BREAK
    case 'continue':
      return () => CONTINUE
  }
}

function compileRange(pipe: Pipe, body: Exec, orElse: Exec | null, pos: number): Exec {
  const coll = compilePipe(pipe)
  const [s1, s2] = pipe.decl
  // One variable gets the element; two get key (or index) and element, as in Go.
  const step = (st: State, key: unknown, val: unknown): Signal => {
    if (++st.steps > MAX_RANGE_STEPS) throw new ExecError(`range: more than ${MAX_RANGE_STEPS} iterations in one rendering`, pos)
    if (s2 !== undefined) {
      st.vars[s1!] = key
      st.vars[s2] = val
    } else if (s1 !== undefined) st.vars[s1] = val
    return body(st, val)
  }
  return (st, dot) => {
    const v = coll(st, dot)
    let n = 0
    if (Array.isArray(v)) {
      for (; n < v.length; n++) if (step(st, BigInt(n), v[n]) === BREAK) break
    } else if (isMap(v)) {
      for (const k of sortedKeys(v)) if (n++, step(st, k, v[k]) === BREAK) break
    } else if (typeof v === 'bigint') {
      for (; n < v; n++) if (step(st, BigInt(n), BigInt(n)) === BREAK) break
    } else if (!isNil(v)) {
      throw new ExecError(`range can't iterate over ${typeof v === 'object' ? 'struct' : String(v)}`, pos)
    }
    return n === 0 && orElse ? orElse(st, dot) : 0
  }
}

function compilePipe(p: Pipe): Eval {
  const [first, ...rest] = p.cmds.map((c, i) => compileCmd(c, i > 0))
  const head = first!
  const ev: Eval =
    rest.length === 0
      ? (st, dot) => head(st, dot, NONE)
      : (st, dot) => {
          let v = head(st, dot, NONE)
          for (const c of rest) v = c(st, dot, v)
          return v
        }
  const decl = p.decl
  if (decl.length === 0) return ev
  return (st, dot) => {
    const v = ev(st, dot)
    for (const s of decl) st.vars[s] = v
    return v
  }
}

function compileCmd(c: Cmd, piped: boolean): CmdEval {
  const [head, ...rest] = c.args
  const args = rest.map(compileArg)
  let fn: CmdEval
  switch (head!.t) {
    case 'func': fn = compileCall(head!.name, head!.def, args); break
    case 'field': case 'var': case 'pipe': fn = compileChain(head!, args, piped); break
    default: {
      // Literals, dot and nil take no arguments (checked by the parser).
      const ev = compileArg(head!)
      fn = (st, dot) => ev(st, dot)
    }
  }
  const pos = c.pos
  return (st, dot, final) => {
    try {
      return fn(st, dot, final)
    } catch (err) {
      throw locate(err, pos)
    }
  }
}

/** The innermost command's position wins; foreign errors become ExecErrors. */
function locate(err: unknown, pos: number): ExecError {
  if (err instanceof ExecError) {
    err.pos ??= pos
    return err
  }
  return new ExecError(err instanceof Error ? err.message : String(err), pos)
}

function compileCall(name: string, def: FuncDef, args: readonly Eval[]): CmdEval {
  const call = (a: unknown[]): unknown => {
    try {
      return def.fn(a)
    } catch (err) {
      if (err instanceof ExecError && err.pos !== undefined) throw err
      throw new ExecError(`error calling ${name}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  if (def.lazy) {
    return (st, dot, final) => {
      const thunks: unknown[] = args.map((e) => () => e(st, dot))
      if (final !== NONE) thunks.push(() => final)
      return call(thunks)
    }
  }
  return (st, dot, final) => {
    const a: unknown[] = new Array<unknown>(args.length)
    for (let i = 0; i < args.length; i++) a[i] = args[i]!(st, dot)
    if (final !== NONE) a.push(final)
    return call(a)
  }
}

/** The value a field/variable/parenthesised head starts from, before its field chain. */
function base(head: Extract<Arg, { chain: string[] }>): Eval {
  if (head.t === 'field') return (_st, dot) => dot
  if (head.t === 'var') {
    const slot = head.slot
    return (st) => st.vars[slot]
  }
  return compilePipe(head.pipe)
}

/** `.A.B.C args…`: every link but the last is read plainly; the last may be a method call. */
function compileChain(head: Extract<Arg, { chain: string[] }>, args: readonly Eval[], piped: boolean): CmdEval {
  const recv = base(head)
  const readers: FieldReader[] = head.chain.map(fieldReader)
  const last = readers.pop()
  if (last === undefined) return (st, dot) => recv(st, dot)
  const walk = (st: State, dot: unknown): unknown => {
    let v = recv(st, dot)
    for (const r of readers) v = r(v, NO_ARGS)
    return v
  }
  // The common `{{ .Extra.key }}` allocates no argument array.
  if (args.length === 0 && !piped) return (st, dot) => last(walk(st, dot), NO_ARGS)
  return (st, dot, final) => {
    const v = walk(st, dot)
    const a = args.map((e) => e(st, dot))
    if (final !== NONE) a.push(final)
    return last(v, a)
  }
}

/** An operand in argument position; a function name there is called without arguments. */
function compileArg(a: Arg): Eval {
  switch (a.t) {
    case 'dot': return (_st, dot) => dot
    case 'nil': return () => null
    case 'lit': {
      const v = a.value
      return () => v
    }
    case 'func': {
      const call = compileCall(a.name, a.def, [])
      return (st, dot) => call(st, dot, NONE)
    }
    default: {
      const chain = compileChain(a, [], false)
      return (st, dot) => chain(st, dot, NONE)
    }
  }
}
