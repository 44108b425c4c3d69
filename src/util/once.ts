/**
 * `make()` on the first call, its result on every later one. For costly values a module would
 * otherwise build at import (compiled schema validators): every CLI verb imports the modules of
 * all verbs, and one that is never used should not cost each short-lived process its start-up.
 */
export function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined
  return () => (made ??= { value: make() }).value
}
