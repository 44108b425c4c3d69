/** Go literal syntax: numbers (int vs float64), rune constants and string escapes. */
import { TemplateSyntaxError, type Token } from './lexer.js'

const fail = (msg: string, pos: number): never => {
  throw new TemplateSyntaxError(msg, pos)
}

/** Go number literals: integers become bigint (Go int), anything with . e p is float64. */
export function parseNumber(t: Token): bigint | number {
  const text = t.value.replace(/_/g, '')
  const neg = text.startsWith('-')
  const body = text.replace(/^[+-]/, '')
  let n: bigint | undefined
  if (/^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|[1-9][0-9]*|0)$/.test(body)) n = BigInt(body)
  else if (/^0[0-7]+$/.test(body)) n = BigInt('0o' + body.slice(1))
  if (n !== undefined) return neg ? -n : n
  if (/^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(body)) return Number(text)
  return fail(`bad number syntax: ${JSON.stringify(t.value)}`, t.pos)
}

export function parseChar(t: Token): bigint {
  const s = unquote(t.value.slice(1, -1))
  const cps = s === null ? [] : Array.from(s)
  if (cps.length !== 1) fail(`malformed character constant: ${t.value}`, t.pos)
  return BigInt(cps[0]!.codePointAt(0)!)
}

const SIMPLE: Readonly<Record<string, string>> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" }

/** strconv.Unquote's escapes; \x and octal escapes are bytes, so the result is decoded as UTF-8. */
export function unquote(body: string): string | null {
  if (!body.includes('\\')) return body
  const parts: Buffer[] = []
  let text = ''
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== '\\') {
      text += body[i]
      continue
    }
    const e = body[++i] ?? ''
    const rest = body.slice(i + 1)
    let m: RegExpExecArray | null
    if (SIMPLE[e] !== undefined) text += SIMPLE[e]
    else if ((e === 'x' && (m = /^[0-9a-fA-F]{2}/.exec(rest))) || (/[0-7]/.test(e) && (m = /^[0-7]{2}/.exec(rest)))) {
      const byte = e === 'x' ? parseInt(m[0], 16) : parseInt(e + m[0], 8)
      if (byte > 255) return null
      parts.push(Buffer.from(text), Buffer.from([byte]))
      text = ''
      i += 2
    } else if ((e === 'u' && (m = /^[0-9a-fA-F]{4}/.exec(rest))) || (e === 'U' && (m = /^[0-9a-fA-F]{8}/.exec(rest)))) {
      const cp = parseInt(m[0], 16)
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null
      text += String.fromCodePoint(cp)
      i += m[0].length
    } else return null
  }
  parts.push(Buffer.from(text))
  return Buffer.concat(parts).toString('utf8')
}
