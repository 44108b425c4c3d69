/**
 * Tokeniser for Go text/template syntax (delimiters `{{ }}`, trim markers, comments). Follows
 * Go's lexer closely so the same templates split the same way; errors carry the offset.
 */

export type TokKind =
  | 'text' | 'left' | 'right' | 'space' | 'field' | 'ident' | 'var' | 'dot' | 'string' | 'raw'
  | 'number' | 'char' | 'bool' | 'nil' | 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign'
  | 'comma' | 'keyword' | 'eof'

export interface Token {
  readonly kind: TokKind
  readonly value: string
  readonly pos: number
  readonly end: number
}

/** A parse problem at an offset of the source; the entry point turns it into a ConfigError. */
export class TemplateSyntaxError extends Error {
  constructor(message: string, readonly pos: number) {
    super(message)
  }
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue'])
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n'
const ALNUM = /[\p{L}\p{Nd}_]/u
const isAlnum = (c: string | undefined): boolean => c !== undefined && ALNUM.test(c)
// Go's scanNumber accepts this shape; whether it converts is checked by the parser.
const NUMBER = /[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?|0[oObB][0-7_]+|[0-9_]*\.?[0-9_]*(?:[eE][+-]?[0-9_]+)?)i?/y

export function lex(src: string): Token[] {
  const toks: Token[] = []
  let pos = 0
  let trimNext = false
  const emit = (kind: TokKind, start: number, end: number, value = src.slice(start, end)): void => {
    toks.push({ kind, value, pos: start, end })
  }
  while (pos < src.length) {
    const open = src.indexOf('{{', pos)
    const stop = open < 0 ? src.length : open
    // "{{- " trims the whitespace before it; the marker needs a space so {{-3}} stays a number.
    const trimLeft = open >= 0 && src[open + 2] === '-' && isSpace(src[open + 3])
    let text = src.slice(pos, stop)
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '')
    if (trimLeft) text = text.replace(/[ \t\r\n]+$/, '')
    if (text !== '') emit('text', pos, stop, text)
    if (open < 0) break
    pos = open + 2 + (trimLeft ? 2 : 0)
    if (src.startsWith('/*', pos)) {
      const close = src.indexOf('*/', pos + 2)
      if (close < 0) throw new TemplateSyntaxError('unclosed comment', open)
      pos = close + 2
      const delim = rightDelim(src, pos)
      if (delim === 0) throw new TemplateSyntaxError('comment ends before closing delimiter', open)
      trimNext = delim === 4
      pos += delim
      continue
    }
    emit('left', open, pos)
    const r = lexAction(src, pos, emit)
    pos = r.pos
    trimNext = r.trim
  }
  toks.push({ kind: 'eof', value: '', pos: src.length, end: src.length })
  return toks
}

/** Length of the closing delimiter at pos: 4 for " -}}", 2 for "}}", 0 when there is none. */
function rightDelim(src: string, pos: number): number {
  if (isSpace(src[pos]) && src.startsWith('-}}', pos + 1)) return 4
  return src.startsWith('}}', pos) ? 2 : 0
}

type Emit = (kind: TokKind, start: number, end: number, value?: string) => void

function lexAction(src: string, start: number, emit: Emit): { pos: number; trim: boolean } {
  let pos = start
  let depth = 0
  const atTerminator = (p: number): boolean => {
    const c = src[p]
    return c === undefined || isSpace(c) || '.,|:()'.includes(c) || src.startsWith('}}', p)
  }
  const word = (p: number): number => {
    while (isAlnum(src[p])) p++
    if (!atTerminator(p)) throw new TemplateSyntaxError(`bad character ${JSON.stringify(src[p])}`, p)
    return p
  }
  for (;;) {
    const delim = rightDelim(src, pos)
    if (delim > 0) {
      if (depth > 0) throw new TemplateSyntaxError('unclosed left paren', pos)
      emit('right', pos, pos + delim)
      return { pos: pos + delim, trim: delim === 4 }
    }
    const c = src[pos]
    if (c === undefined) throw new TemplateSyntaxError('unclosed action', start)
    const p = pos
    if (isSpace(c)) {
      while (isSpace(src[pos])) pos++
      // Leave the space that belongs to a " -}}" marker.
      if (src.startsWith('-}}', pos)) pos--
      if (pos > p) emit('space', p, pos)
      continue
    }
    if (c === '=') emit('assign', p, ++pos)
    else if (c === ':') {
      if (src[pos + 1] !== '=') throw new TemplateSyntaxError('expected :=', p)
      emit('declare', p, (pos += 2))
    } else if (c === '|') emit('pipe', p, ++pos)
    else if (c === ',') emit('comma', p, ++pos)
    else if (c === '(') emit('lparen', p, ++pos), depth++
    else if (c === ')') {
      if (--depth < 0) throw new TemplateSyntaxError('unexpected right paren', p)
      emit('rparen', p, ++pos)
    } else if (c === '"' || c === "'") {
      pos = quoted(src, pos, c)
      emit(c === '"' ? 'string' : 'char', p, pos)
    } else if (c === '`') {
      const close = src.indexOf('`', pos + 1)
      if (close < 0) throw new TemplateSyntaxError('unterminated raw quoted string', p)
      emit('raw', p, (pos = close + 1), src.slice(p + 1, close))
    } else if (c === '$') {
      pos = word(pos + 1)
      emit('var', p, pos)
    } else if (c === '.' && !/[0-9]/.test(src[pos + 1] ?? '')) {
      pos = word(pos + 1)
      if (pos === p + 1) emit('dot', p, pos)
      else emit('field', p, pos, src.slice(p + 1, pos))
    } else if (c === '+' || c === '-' || c === '.' || /[0-9]/.test(c)) {
      NUMBER.lastIndex = pos
      NUMBER.exec(src)
      pos = NUMBER.lastIndex
      if (pos === p || isAlnum(src[pos])) throw new TemplateSyntaxError(`bad number syntax: ${JSON.stringify(src.slice(p, pos + 1))}`, p)
      emit('number', p, pos)
    } else if (isAlnum(c)) {
      pos = word(pos)
      const w = src.slice(p, pos)
      emit(KEYWORDS.has(w) ? 'keyword' : w === 'true' || w === 'false' ? 'bool' : w === 'nil' ? 'nil' : 'ident', p, pos)
    } else {
      throw new TemplateSyntaxError(`unexpected ${JSON.stringify(c)} in command`, p)
    }
  }
}

/** End offset of a "…" or '…' literal starting at pos (escapes are checked by the parser). */
function quoted(src: string, pos: number, q: string): number {
  for (let i = pos + 1; ; i++) {
    const c = src[i]
    if (c === '\\') i++
    else if (c === q) return i + 1
    if (c === undefined || c === '\n' || src[i] === undefined) {
      throw new TemplateSyntaxError(q === '"' ? 'unterminated quoted string' : 'unterminated character constant', pos)
    }
  }
}
