/**
 * Parser for Go text/template: builds a small tree in which variables are already resolved to
 * slots and function names to their definitions, and rejects at load time what Go would only
 * reject when executing (wrong argument counts, arguments to non-functions).
 */
import { FUNCS, type FuncDef } from './funcs.js'
import { lex, TemplateSyntaxError, type Token } from './lexer.js'
import { parseChar, parseNumber, unquote } from './literals.js'

export type Arg =
  | { readonly t: 'field'; readonly pos: number; readonly chain: string[] }
  | { readonly t: 'var'; readonly pos: number; readonly slot: number; readonly chain: string[] }
  | { readonly t: 'pipe'; readonly pos: number; readonly pipe: Pipe; readonly chain: string[] }
  | { readonly t: 'func'; readonly pos: number; readonly name: string; readonly def: FuncDef }
  | { readonly t: 'dot' | 'nil'; readonly pos: number }
  | { readonly t: 'lit'; readonly pos: number; readonly value: unknown }
export interface Cmd { readonly pos: number; readonly args: readonly Arg[] }
/** decl: the slots the pipeline's value is stored into (`$x :=`, `$x =`, `$i, $v :=`). */
export interface Pipe { readonly pos: number; readonly decl: readonly number[]; readonly cmds: readonly Cmd[] }
export type Node =
  | { readonly t: 'text'; readonly text: string }
  | { readonly t: 'action'; readonly pos: number; readonly pipe: Pipe }
  | { readonly t: 'if' | 'with' | 'range'; readonly pos: number; readonly pipe: Pipe; readonly list: Node[]; readonly elseList: Node[] | null }
  | { readonly t: 'break' | 'continue'; readonly pos: number }
type Marker = { readonly t: 'end' | 'else'; readonly pos: number }

export interface Parsed {
  readonly nodes: Node[]
  /** Number of variable slots; slot 0 is `$`. */
  readonly slots: number
}

export function parse(src: string): Parsed {
  const p = new Parser(lex(src))
  const nodes = p.list(true)[0]
  return { nodes, slots: p.slots }
}

const fail = (msg: string, pos: number): never => {
  throw new TemplateSyntaxError(msg, pos)
}
const describe = (t: Token): string => (t.kind === 'eof' ? 'EOF' : t.kind === 'right' ? '"}}"' : JSON.stringify(t.value))

class Parser {
  slots = 1
  private i = 0
  private readonly scope: { name: string; slot: number }[] = [{ name: '$', slot: 0 }]
  private rangeDepth = 0
  constructor(private readonly toks: readonly Token[]) {}

  private peek(): Token {
    return this.toks[Math.min(this.i, this.toks.length - 1)]!
  }
  private next(): Token {
    const t = this.peek()
    this.i++
    return t
  }
  private nextNonSpace(): Token {
    let t = this.next()
    while (t.kind === 'space') t = this.next()
    return t
  }
  private peekNonSpace(): Token {
    while (this.peek().kind === 'space') this.i++
    return this.peek()
  }
  private expectRight(context: string): void {
    const t = this.nextNonSpace()
    if (t.kind !== 'right') fail(`unexpected ${describe(t)} in ${context}`, t.pos)
  }

  /** Nodes up to {{end}}/{{else}} (returned as the marker), or up to EOF at the top level. */
  list(top: boolean): [Node[], Marker] {
    const nodes: Node[] = []
    for (;;) {
      const t = this.next()
      if (t.kind === 'eof') {
        if (top) return [nodes, { t: 'end', pos: t.pos }]
        fail('unexpected EOF', t.pos)
      }
      if (t.kind === 'text') {
        nodes.push({ t: 'text', text: t.value })
        continue
      }
      const n = this.action()
      if (n.t === 'end' || n.t === 'else') {
        if (top) fail(`unexpected {{${n.t}}}`, n.pos)
        return [nodes, n as Marker]
      }
      nodes.push(n as Node)
    }
  }

  private action(): Node | Marker {
    const t = this.nextNonSpace()
    if (t.kind === 'keyword') {
      switch (t.value) {
        case 'end':
          this.expectRight('end')
          return { t: 'end', pos: t.pos }
        case 'else': {
          const n = this.peekNonSpace()
          if (n.kind !== 'keyword' || (n.value !== 'if' && n.value !== 'with')) this.expectRight('else')
          return { t: 'else', pos: t.pos }
        }
        case 'if': case 'with': case 'range':
          return this.control(t.value, t.pos)
        case 'break': case 'continue':
          if (this.rangeDepth === 0) fail(`{{${t.value}}} outside {{range}}`, t.pos)
          this.expectRight(t.value)
          return { t: t.value, pos: t.pos }
        default:
          return fail(`{{${t.value}}} is not supported`, t.pos)
      }
    }
    this.i--
    return { t: 'action', pos: t.pos, pipe: this.pipeline('command', 'right') }
  }

  private control(kind: 'if' | 'with' | 'range', pos: number): Node {
    const mark = this.scope.length
    const pipe = this.pipeline(kind, 'right')
    if (kind === 'range') this.rangeDepth++
    const [list, next] = this.list(false)
    if (kind === 'range') this.rangeDepth--
    let elseList: Node[] | null = null
    if (next.t === 'else') {
      const k = this.peekNonSpace()
      if (k.kind === 'keyword') {
        // {{else if}} / {{else with}}: a nested control whose {{end}} closes both.
        if (k.value !== kind || kind === 'range') fail(`unexpected {{else ${k.value}}} in {{${kind}}}`, k.pos)
        this.next()
        elseList = [this.control(kind, k.pos)]
      } else {
        const [l, end] = this.list(false)
        if (end.t !== 'end') fail('expected end; found {{else}}', end.pos)
        elseList = l
      }
    }
    this.scope.length = mark
    return { t: kind, pos, pipe, list, elseList }
  }

  private pipeline(context: string, end: 'right' | 'rparen'): Pipe {
    const start = this.peekNonSpace()
    const decl = this.declarations(context)
    const cmds: Cmd[] = []
    while (this.peekNonSpace().kind !== end) cmds.push(this.command(cmds.length > 0))
    this.next()
    if (cmds.length === 0) fail(`missing value for ${context}`, start.pos)
    // New variables become visible after their own pipeline.
    const slots = decl.map((d) => d.slot ?? this.declare(d.name))
    return { pos: start.pos, decl: slots, cmds }
  }

  private declarations(context: string): { name: string; slot: number | null }[] {
    const save = this.i
    const v = this.nextNonSpace()
    if (v.kind === 'var') {
      const op = this.nextNonSpace()
      if (op.kind === 'declare' || op.kind === 'assign') return [this.target(v, op)]
      if (op.kind === 'comma') {
        if (context !== 'range') fail(`too many declarations in ${context}`, op.pos)
        const v2 = this.nextNonSpace()
        const op2 = this.nextNonSpace()
        if (v2.kind !== 'var' || (op2.kind !== 'declare' && op2.kind !== 'assign')) fail('range can only initialize variables', v2.pos)
        return [this.target(v, op2), this.target(v2, op2)]
      }
    }
    this.i = save
    return []
  }

  private target(v: Token, op: Token): { name: string; slot: number | null } {
    return { name: v.value, slot: op.kind === 'assign' ? this.lookup(v) : null }
  }
  private lookup(v: Token): number {
    for (let j = this.scope.length - 1; j >= 0; j--) if (this.scope[j]!.name === v.value) return this.scope[j]!.slot
    return fail(`undefined variable ${JSON.stringify(v.value)}`, v.pos)
  }
  private declare(name: string): number {
    const slot = this.slots++
    this.scope.push({ name, slot })
    return slot
  }

  /** One command: operands separated by spaces, ended by `|` (consumed) or the pipeline's end. */
  private command(piped: boolean): Cmd {
    const pos = this.peekNonSpace().pos
    const args: Arg[] = []
    for (;;) {
      this.peekNonSpace()
      const a = this.operand()
      if (a) args.push(a)
      const t = this.next()
      if (t.kind === 'space') continue
      if (t.kind === 'right' || t.kind === 'rparen') this.i--
      else if (t.kind !== 'pipe') fail(`unexpected ${describe(t)} in operand`, t.pos)
      break
    }
    const head = args[0]
    if (head === undefined) return fail('missing command', pos)
    checkCommand(head, args.length - 1 + (piped ? 1 : 0), piped)
    for (const a of args.slice(1)) if (a.t === 'func') checkArity(a, 0)
    return { pos, args }
  }

  private operand(): Arg | null {
    const node = this.term()
    if (node === null || this.peek().kind !== 'field') return node
    if (node.t !== 'field' && node.t !== 'var' && node.t !== 'pipe') return fail('unexpected . after term', this.peek().pos)
    while (this.peek().kind === 'field') node.chain.push(this.next().value)
    return node
  }

  private term(): Arg | null {
    const t = this.next()
    const pos = t.pos
    switch (t.kind) {
      case 'ident': {
        const def = FUNCS[t.value]
        return def ? { t: 'func', pos, name: t.value, def } : fail(`function ${JSON.stringify(t.value)} not defined`, pos)
      }
      case 'dot': case 'nil': return { t: t.kind, pos }
      case 'var': return { t: 'var', pos, slot: this.lookup(t), chain: [] }
      case 'field': return { t: 'field', pos, chain: [t.value] }
      case 'bool': return { t: 'lit', pos, value: t.value === 'true' }
      case 'number': return { t: 'lit', pos, value: parseNumber(t) }
      case 'char': return { t: 'lit', pos, value: parseChar(t) }
      case 'string': return { t: 'lit', pos, value: unquote(t.value.slice(1, -1)) ?? fail(`invalid syntax in string ${t.value}`, pos) }
      case 'raw': return { t: 'lit', pos, value: t.value }
      case 'lparen': return { t: 'pipe', pos, pipe: this.pipeline('parenthesized pipeline', 'rparen'), chain: [] }
    }
    this.i--
    return null
  }
}

function checkCommand(head: Arg, nargs: number, piped: boolean): void {
  if (head.t === 'func') return checkArity(head, nargs)
  if (head.t === 'nil') fail('nil is not a command', head.pos)
  if (piped && (head.t === 'lit' || head.t === 'dot')) fail('non executable command in pipeline', head.pos)
  // Only a field chain can end in a method; anything else cannot take arguments.
  const callable = (head.t === 'field' || head.t === 'var' || head.t === 'pipe') && head.chain.length > 0
  if (nargs > 0 && !callable) fail("can't give argument to non-function", head.pos)
}

function checkArity(f: Extract<Arg, { t: 'func' }>, n: number): void {
  const { min, max } = f.def
  if (n >= min && n <= max) return
  const want = max === min ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`
  fail(`wrong number of args for ${f.name}: want ${want} got ${n}`, f.pos)
}
