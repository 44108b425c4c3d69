/**
 * The short way through a rule document written as JSON. The YAML parser reads JSON too, but it
 * builds a node (with its source range) for every scalar, key and collection before turning
 * them into values: a 3 MB file of 10,000 rules took about 280 MB of heap to parse, and the
 * heap V8 grew for it stayed with the process (about 300 MB of RSS). JSON.parse builds the
 * values directly.
 *
 * The result must be what the YAML path gives, so this path is only taken when it is: the text
 * parses as JSON (else YAML reads it, and reports what is wrong with positions) and no object in
 * it repeats a key (JSON.parse silently keeps the last one; the YAML path reports a duplicate).
 */

/** The value of a JSON document without duplicate keys, or undefined to take the YAML path. */
export function parseJsonDocument(text: string): { readonly value: unknown } | undefined {
  const start = firstNonSpace(text)
  const c = text.charCodeAt(start)
  // Only a collection can hold rules; a scalar document is left to the YAML path's message.
  if (c !== 0x5b /* [ */ && c !== 0x7b /* { */) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  return membersWritten(text, start) === propertiesParsed(value) ? { value } : undefined
}

/** JSON's whitespace: space, tab, LF, CR. */
function firstNonSpace(text: string): number {
  let i = 0
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break
  }
  return i
}

/**
 * Object members in valid JSON text: outside string literals, every `:` separates a key from
 * its value, so counting them counts the members as written, duplicates included.
 */
function membersWritten(text: string, from: number): number {
  let members = 0
  let inString = false
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c /* \ */) i++
      else if (c === 0x22 /* " */) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x3a /* : */) members++
  }
  return members
}

/** Own properties of every object in a parsed JSON value (a repeated key is one property). */
function propertiesParsed(value: unknown): number {
  let count = 0
  // An explicit stack: a deeply nested document must not overflow the call stack.
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v !== 'object' || v === null) continue
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item)
      continue
    }
    // JSON.parse defines "__proto__" as an own property, so Object.keys counts it like any key.
    const keys = Object.keys(v)
    count += keys.length
    for (const k of keys) stack.push((v as Record<string, unknown>)[k])
  }
  return count
}
