import { Registry } from '../registry.js'
import type { MutatorDef } from '../types.js'
import { header } from './header.js'
import { noop } from './noop.js'
import { cookie } from './cookie.js'
import { hydrator } from './hydrator.js'
import { idToken } from './id_token.js'

const DEFS: readonly MutatorDef[] = Object.freeze([noop, header, cookie, hydrator, idToken])

/** A new registry of the built-in mutators. */
export function mutators(): Registry<MutatorDef> {
  return new Registry('mutator', DEFS)
}
