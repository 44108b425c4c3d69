import { Registry } from '../registry.js'
import type { AuthorizerDef } from '../types.js'
import { allow } from './allow.js'
import { deny } from './deny.js'
import { remote } from './remote.js'
import { remoteJson } from './remote_json.js'

const DEFS: readonly AuthorizerDef[] = Object.freeze([allow, deny, remote, remoteJson])

/** A new registry of the built-in authorizers. */
export function authorizers(): Registry<AuthorizerDef> {
  return new Registry('authorizer', DEFS)
}
