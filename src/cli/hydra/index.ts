import type { Command } from 'commander'
import { createCommand } from './create.js'
import { deleteCommand } from './delete.js'
import { getCommand } from './get.js'
import { importCommand } from './import.js'
import { introspectCommand } from './introspect.js'
import { listCommand } from './list.js'
import { performCommand } from './perform.js'
import { revokeCommand } from './revoke.js'
import { updateCommand } from './update.js'

/**
 * Hydra 2.x's CLI verbs against the token server's admin and public APIs, with Hydra's flags and
 * output formats: create/get/list/update/import/delete client, create/get/import/delete jwk,
 * delete access-tokens, perform authorization-code and client-credentials, introspect token,
 * revoke token. Mounted both at the top level and under `token-server`.
 */
export function hydraCommands(): Command[] {
  return [createCommand(), getCommand(), listCommand(), updateCommand(), importCommand(), deleteCommand(), performCommand(), introspectCommand(), revokeCommand()]
}
