import type { Command } from 'commander'
import { asClient, clientRow, clientTable, type ClientJson } from './client-view.js'
import { action, ApiError, CliError, report } from './errors.js'
import { callApi, target } from './http.js'
import { importJwkCommand } from './jwk-import.js'
import { group, verb, type CommonOptions } from './options.js'
import { printRow, printTable } from './output.js'
import { readInputs } from './read-inputs.js'

/**
 * `gatehouse import client FILE...`: creates the clients listed in JSON files (or stdin), as
 * Hydra's `import oauth2-client`. Each file holds a list of clients (one object is taken as a
 * list of one). Existing clients are not updated: creating one fails with 409 and the others go
 * on; the exit code says whether all succeeded.
 */
export function importCommand(): Command {
  const client = verb('client', 'admin', 'import OAuth 2.0 clients from JSON files or stdin (POST /admin/clients for each)')
    .aliases(['oauth2-client', 'clients', 'oauth2-clients'])
    .argument('[files...]', 'JSON files, each a list of clients; "-" or none: stdin')
    .addHelpText(
      'after',
      '\nExample:\n  gatehouse import client clients.json --endpoint http://127.0.0.1:4445/\n' +
        '  cat clients.json | gatehouse import client --endpoint http://127.0.0.1:4445/\n' +
        '\nclients.json: [{"client_id": "my-app", "grant_types": ["client_credentials"], "scope": "api"}]',
    )
    .action(
      action(async (files: string[], opts: CommonOptions) => {
        const to = target(opts, 'admin')
        const wanted = readInputs(files).flatMap((i) => parseClients(i.source, i.content.toString('utf8')).map((c) => ({ source: i.source, c })))
        const imported: ClientJson[] = []
        let failed = false
        for (const { source, c } of wanted) {
          try {
            const res = await callApi(to, { method: 'POST', path: 'admin/clients', json: c, what: `${source}: could not import an OAuth 2.0 client` })
            const created = asClient(res.body, `${source}: could not import an OAuth 2.0 client`)
            if (created.client_secret === undefined && typeof c.client_secret === 'string') created.client_secret = c.client_secret
            imported.push(created)
          } catch (err) {
            // One bad or duplicate client does not stop the others; an unreachable server would fail them all.
            if (!(err instanceof ApiError)) throw err
            report(err)
            failed = true
          }
        }
        if (imported.length === 1) printRow(opts, clientRow(imported[0]!))
        else printTable(opts, clientTable(imported))
        if (failed) process.exitCode = 1
      }),
    )
  return group('import', 'import resources (OAuth 2.0 clients, JSON Web Keys)', [client, importJwkCommand()])
}

function parseClients(source: string, text: string): Record<string, unknown>[] {
  if (text.trim() === '') return []
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    throw new CliError(`could not decode JSON from ${source}: ${(err as Error).message}`)
  }
  const list = Array.isArray(v) ? v : [v]
  for (const c of list) if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new CliError(`${source}: each client must be a JSON object`)
  return list as Record<string, unknown>[]
}
