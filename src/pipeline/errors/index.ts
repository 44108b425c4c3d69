import { Registry } from '../registry.js'
import type { ErrorHandlerDef } from '../types.js'
import { json } from './json.js'
import { redirect } from './redirect.js'
import { wwwAuthenticate } from './www_authenticate.js'

const DEFS: readonly ErrorHandlerDef[] = Object.freeze([json, redirect, wwwAuthenticate])

/** A new registry of the built-in error handlers. */
export function errorHandlers(): Registry<ErrorHandlerDef> {
  return new Registry('error handler', DEFS)
}
