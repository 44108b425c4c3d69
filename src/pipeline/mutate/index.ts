import { Registry } from '../registry.js'
import type { MutatorDef } from '../types.js'
import { header } from './header.js'
import { noop } from './noop.js'

const DEFS: readonly MutatorDef[] = Object.freeze([noop, header])

/** A new registry of the built-in mutators. */
export function mutators(): Registry<MutatorDef> {
  return new Registry('mutator', DEFS)
}
