import { Registry } from '../registry.js'
import type { ErrorHandlerDef } from '../types.js'
import { json } from './json.js'

const DEFS: readonly ErrorHandlerDef[] = Object.freeze([json])

/** A new registry of the built-in error handlers. */
export function errorHandlers(): Registry<ErrorHandlerDef> {
  return new Registry('error handler', DEFS)
}
