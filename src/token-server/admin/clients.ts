import jsonpatch from 'fast-json-patch'
import type { Operation } from 'fast-json-patch'
import { clientJson, validateClient, validateLifespans } from '../client.js'
import type { TokenServerContext } from '../context.js'
import { readJson, sendEmpty, sendJson } from '../http/io.js'
import type { Route, RouteContext } from '../http/router.js'
import { conflict, invalidRequest, notFound } from '../oauth-error.js'
import { isPlainObject } from '../../util/deep-merge.js'
import { DuplicateClientError, type ClientRecord } from '../store/types.js'

const DEFAULT_PAGE_SIZE = 250
const MAX_PAGE_SIZE = 1000

/** Hydra 2.x's `/admin/clients` resource: create, list (keyset pages), get, replace, patch, delete. */
export function clientRoutes(ctx: TokenServerContext): Route[] {
  async function load(id: string): Promise<ClientRecord> {
    const c = await ctx.store.getClient(id)
    if (c === undefined) throw notFound(`The OAuth 2.0 client "${id}" does not exist.`)
    return c
  }

  /** Replaces `current` with the validated `body`, rehashing only when a secret was sent. */
  async function replace(current: ClientRecord, body: unknown, res: RouteContext['res']): Promise<void> {
    const v = validateClient(body, current)
    // The same secret sent again is not a change (it would otherwise revoke the client's tokens).
    const unchanged = v.secret === undefined || (current.secret_hash !== null && (await ctx.secrets.verify(current.client_id, v.secret, current.secret_hash)))
    const secretHash = unchanged ? current.secret_hash : await ctx.hasher.hash(v.secret!)
    const next: ClientRecord = {
      ...v.record,
      secret_hash: v.record.data.token_endpoint_auth_method === 'none' ? null : secretHash,
      created_at: current.created_at,
      updated_at: Date.now(),
    }
    if (!(await ctx.store.updateClient(next))) throw notFound(`The OAuth 2.0 client "${current.client_id}" does not exist.`)
    if (next.secret_hash !== current.secret_hash) {
      // A new secret (or none) ends what the old one obtained: a leaked secret's tokens die with it.
      await ctx.store.deleteTokensOfClient(current.client_id)
      await ctx.feed.publish({ type: 'client', client_id: current.client_id })
    }
    sendJson(res, 200, clientJson(next, { secret: v.secret }))
  }

  return [
    {
      method: 'POST',
      path: '/admin/clients',
      handler: async ({ req, res, url }) => {
        const v = validateClient(await readJson(req))
        const now = Date.now()
        const record: ClientRecord = {
          ...v.record,
          secret_hash: v.secret === undefined ? null : await ctx.hasher.hash(v.secret),
          created_at: now,
          updated_at: now,
        }
        try {
          await ctx.store.createClient(record)
        } catch (err) {
          if (err instanceof DuplicateClientError) throw conflict(`A client with id "${record.client_id}" already exists.`)
          throw err
        }
        const location = new URL(`/admin/clients/${encodeURIComponent(record.client_id)}`, url).href
        // The secret is shown this once; only its hash is kept.
        sendJson(res, 201, clientJson(record, { secret: v.secret }), { location })
      },
    },
    {
      method: 'GET',
      path: '/admin/clients',
      handler: async ({ res, query, url }) => {
        const size = pageSize(query.get('page_size'))
        const after = pageToken(query.get('page_token'))
        const filters = {
          ...(query.get('client_name') ? { client_name: query.get('client_name')! } : {}),
          ...(query.get('owner') ? { owner: query.get('owner')! } : {}),
        }
        // One more than asked for tells whether a next page exists without a count query.
        const rows = await ctx.store.listClients({ limit: size + 1, ...(after === undefined ? {} : { after }), ...filters })
        const page = rows.slice(0, size)
        const links = [`<${pageUrl(url, size, undefined)}>; rel="first"`]
        if (rows.length > size) links.push(`<${pageUrl(url, size, page[page.length - 1]!.client_id)}>; rel="next"`)
        sendJson(res, 200, page.map((c) => clientJson(c, { stored: true })), { link: links.join(',') })
      },
    },
    {
      method: 'GET',
      path: '/admin/clients/{id}',
      handler: async ({ res, params }) => sendJson(res, 200, clientJson(await load(params.id!), { stored: true })),
    },
    {
      method: 'PUT',
      path: '/admin/clients/{id}',
      handler: async ({ req, res, params }) => {
        const current = await load(params.id!)
        const body = await readJson(req)
        await replace(current, body, res)
      },
    },
    {
      method: 'PATCH',
      path: '/admin/clients/{id}',
      handler: async ({ req, res, params }) => {
        const current = await load(params.id!)
        const ops = await readJson(req)
        if (!Array.isArray(ops)) throw invalidRequest('The body must be a JSON Patch document (RFC 6902): a list of operations.')
        // Hydra applies the patch to the stored client, secret included, so the usual way to
        // rotate a secret, `replace /client_secret`, finds the member. The secret is never shown,
        // so an empty placeholder stands in for it; left empty (or removed), the secret is kept.
        const doc = { ...clientJson(current, { stored: true }), client_secret: '' }
        const invalid = jsonpatch.validate(ops as Operation[], doc)
        if (invalid !== undefined) throw invalidRequest(`The JSON Patch is invalid: ${invalid.message.split('\n')[0]}`)
        let patched: Record<string, unknown>
        try {
          patched = jsonpatch.applyPatch(doc, ops as Operation[], false, false).newDocument
        } catch (err) {
          throw invalidRequest(`The JSON Patch could not be applied: ${(err as Error).message.split('\n')[0]}`)
        }
        if (patched.client_id !== current.client_id) throw invalidRequest('The client_id of a client can not be changed.')
        await replace(current, patched, res)
      },
    },
    {
      // Hydra's setOAuth2ClientLifespans: the ten lifespans are replaced (one left out becomes
      // null, "use the server's ttl"); nothing else changes, the secret included.
      method: 'PUT',
      path: '/admin/clients/{id}/lifespans',
      handler: async ({ req, res, params }) => {
        const current = await load(params.id!)
        const body = await readJson(req)
        if (!isPlainObject(body)) throw invalidRequest('The body must be a JSON object of lifespans, e.g. {"client_credentials_grant_access_token_lifespan": "1h"}.')
        const next: ClientRecord = { ...current, data: { ...current.data, ...validateLifespans(body) }, updated_at: Date.now() }
        if (!(await ctx.store.updateClient(next))) throw notFound(`The OAuth 2.0 client "${current.client_id}" does not exist.`)
        sendJson(res, 200, clientJson(next, { stored: true }))
      },
    },
    {
      method: 'DELETE',
      path: '/admin/clients/{id}',
      handler: async ({ res, params }) => {
        // Deleting a client also deletes its tokens, so none of them introspects as active.
        if (!(await ctx.store.deleteClient(params.id!))) throw notFound(`The OAuth 2.0 client "${params.id}" does not exist.`)
        await ctx.feed.publish({ type: 'client', client_id: params.id! })
        sendEmpty(res, 204)
      },
    },
  ]
}

/** Hydra 2.x's keyset paginator: not an integer → 400; zero or less → the default; capped at the maximum. */
function pageSize(v: string | null): number {
  if (v === null || v === '') return DEFAULT_PAGE_SIZE
  if (!/^[+-]?\d{1,15}$/.test(v)) throw invalidRequest('page_size must be an integer')
  const n = Number(v)
  return n <= 0 ? DEFAULT_PAGE_SIZE : Math.min(MAX_PAGE_SIZE, n)
}

/** The token is the last client id of the previous page, base64url-encoded (opaque to callers). */
function pageToken(v: string | null): string | undefined {
  if (v === null || v === '') return undefined
  if (!/^[A-Za-z0-9_-]+$/.test(v)) throw invalidRequest('page_token is not valid')
  return Buffer.from(v, 'base64url').toString('utf8')
}

function pageUrl(url: URL, size: number, after: string | undefined): string {
  const u = new URL(url.pathname, url)
  for (const [k, v] of url.searchParams) if (k !== 'page_token' && k !== 'page_size') u.searchParams.append(k, v)
  u.searchParams.set('page_size', String(size))
  if (after !== undefined) u.searchParams.set('page_token', Buffer.from(after).toString('base64url'))
  return u.pathname + u.search
}
