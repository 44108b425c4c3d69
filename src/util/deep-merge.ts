/** A plain JSON object (not an array, not null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Deep-merges `over` onto `base` into a new object: objects merge key by key, everything
 * else (arrays included) is replaced. Used for config files and rule-over-global handler config,
 * where Oathkeeper also replaces lists instead of concatenating them.
 */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(over)) {
    // Own-key copy only: a "__proto__" key from a parsed file must not reach the prototype.
    if (k === '__proto__') continue
    out[k] = deepMerge(base[k], v)
  }
  return out
}

/** Freezes an object graph so configuration cannot be changed after validation. */
export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v)
    for (const child of Object.values(v)) deepFreeze(child)
  }
  return v
}
