import type { Command } from 'commander'
import { asClient, clientTable } from './client-view.js'
import { action, CliError } from './errors.js'
import { callApi, target } from './http.js'
import { group, positiveInt, verb, type CommonOptions } from './options.js'
import { printTable } from './output.js'

interface ListOptions extends CommonOptions {
  readonly pageSize: number
  readonly pageToken?: string
}

/**
 * `gatehouse list clients`: one page of GET /admin/clients. The next page's token comes from the
 * Link header (rel="next"), as the admin API paginates by keyset and has no page numbers; json
 * output is `{"items":[…],"next_page_token":"…","is_last_page":…}` like Hydra's CLI.
 */
export function listCommand(): Command {
  const clients = verb('clients', 'admin', 'list OAuth 2.0 clients, one page at a time (GET /admin/clients)')
    .alias('oauth2-clients')
    .option('--page-size <n>', 'maximum number of clients per page', positiveInt, 100)
    .option('--page-token <token>', 'token of the page to show, from a previous answer')
    .addHelpText('after', '\nExample:\n  gatehouse list clients --endpoint http://127.0.0.1:4445/ --page-size 10 --page-token <token from the previous page>')
    .action(
      action(async (opts: ListOptions) => {
        const to = target(opts, 'admin')
        const what = 'could not list the OAuth 2.0 clients'
        const res = await callApi(to, {
          method: 'GET',
          path: 'admin/clients',
          query: {
            page_size: String(opts.pageSize),
            page_token: opts.pageToken === undefined || opts.pageToken === '' ? undefined : opts.pageToken,
          },
          what,
        })
        if (!Array.isArray(res.body)) throw new CliError(`${what}: the server did not answer with a list; is --endpoint the admin API?`)
        const items = res.body.map((c) => asClient(c, what))
        const next = nextPageToken(res.headers.link, to.base) ?? ''
        printTable(
          opts,
          clientTable(items, {
            json: { items, next_page_token: next, is_last_page: next === '' },
            footer: [
              ['NEXT PAGE TOKEN', next],
              ['IS LAST PAGE', String(next === '')],
            ],
          }),
        )
      }),
    )
  return group('list', 'list resources (OAuth 2.0 clients)', [clients]).alias('ls')
}

/**
 * The page_token of the rel="next" link of an RFC 8288 Link header, or undefined on the last page.
 * Link URLs may be relative (`/admin/clients?…`), hence the base.
 */
export function nextPageToken(header: string | string[] | undefined, base: URL): string | undefined {
  if (header === undefined) return undefined
  const text = Array.isArray(header) ? header.join(',') : header
  // `<url>; param; param, <url>; …`: the URL is in angle brackets, so commas inside it are safe.
  for (const m of text.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]*)*)/g)) {
    const rels = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(m[2] ?? '')
    const rel = (rels?.[1] ?? rels?.[2] ?? '').toLowerCase().split(/\s+/)
    if (!rel.includes('next')) continue
    try {
      const token = new URL(m[1]!, base).searchParams.get('page_token')
      if (token !== null && token !== '') return token
    } catch {
      // An unparsable link is as good as none.
    }
  }
  return undefined
}
