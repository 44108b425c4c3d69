import { randomUUID } from 'node:crypto'
import type { TokenServerContext } from '../context.js'
import { readJson, sendEmpty, sendJson } from '../http/io.js'
import type { Route } from '../http/router.js'
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../keys.js'
import { invalidRequest, notFound } from '../oauth-error.js'
import { isPlainObject } from '../../util/deep-merge.js'

/**
 * Hydra's `/admin/keys/{set}[/{kid}]`: JSON Web Key sets in the store. POST generates a key
 * (`{"alg","kid","use"}`); the newest key of a set signs, older ones stay published until they
 * are deleted, which is how signing keys are rotated without breaking tokens in flight.
 * Like Hydra's admin API, answers carry the private keys: keep the admin port private.
 */
export function keyRoutes(ctx: TokenServerContext): Route[] {
  async function setJson(set: string): Promise<{ keys: unknown[] }> {
    const records = await ctx.keys.records(set)
    if (records.length === 0) throw notFound(`The JSON Web Key Set "${set}" does not exist.`)
    return { keys: records.map((r) => r.private_jwk) }
  }

  async function putKey(set: string, jwk: unknown, kidFromPath?: string): Promise<Record<string, unknown>> {
    if (!isPlainObject(jwk) || typeof jwk.kty !== 'string') throw invalidRequest('A JSON Web Key needs at least "kty".')
    if (kidFromPath !== undefined && jwk.kid !== undefined && jwk.kid !== kidFromPath) throw invalidRequest('The kid in the body does not match the path.')
    const key = { ...jwk, kid: kidFromPath ?? (typeof jwk.kid === 'string' ? jwk.kid : randomUUID()), use: jwk.use ?? 'sig' }
    await ctx.keys.put(set, key)
    return key
  }

  return [
    {
      method: 'POST',
      path: '/admin/keys/{set}',
      handler: async ({ req, res, params, url }) => {
        const body = await readJson(req)
        if (!isPlainObject(body)) throw invalidRequest('The body must be {"alg": …, "kid": …, "use": …}.')
        const alg = body.alg ?? 'RS256'
        if (!SIGNING_ALGORITHMS.includes(alg as SigningAlgorithm)) {
          throw invalidRequest(`alg must be one of ${SIGNING_ALGORITHMS.join(', ')}`)
        }
        const use = body.use ?? 'sig'
        if (use !== 'sig' && use !== 'enc') throw invalidRequest('use must be "sig" or "enc"')
        const kid = typeof body.kid === 'string' && body.kid !== '' ? body.kid : randomUUID()
        const r = await ctx.keys.generate(params.set!, alg as SigningAlgorithm, kid, use)
        // Hydra's Location names `<issuer>/keys/<set>`, a path its public port does not serve; this
        // one names the set on the admin API, where a GET finds it.
        const location = new URL(`/admin/keys/${encodeURIComponent(params.set!)}`, url).href
        sendJson(res, 201, { keys: [r.private_jwk] }, { location })
      },
    },
    { method: 'GET', path: '/admin/keys/{set}', handler: async ({ res, params }) => sendJson(res, 200, await setJson(params.set!)) },
    {
      method: 'PUT',
      path: '/admin/keys/{set}',
      handler: async ({ req, res, params }) => {
        const body = await readJson(req)
        if (!isPlainObject(body) || !Array.isArray(body.keys)) throw invalidRequest('The body must be a JSON Web Key Set: {"keys": […]}.')
        await ctx.keys.delete(params.set!)
        const keys = []
        for (const k of body.keys) keys.push(await putKey(params.set!, k))
        sendJson(res, 200, { keys })
      },
    },
    {
      method: 'DELETE',
      path: '/admin/keys/{set}',
      handler: async ({ res, params }) => {
        if ((await ctx.keys.delete(params.set!)) === 0) throw notFound(`The JSON Web Key Set "${params.set}" does not exist.`)
        sendEmpty(res, 204)
      },
    },
    {
      method: 'GET',
      path: '/admin/keys/{set}/{kid}',
      handler: async ({ res, params }) => {
        const r = (await ctx.keys.records(params.set!)).find((k) => k.kid === params.kid)
        if (r === undefined) throw notFound(`The JSON Web Key "${params.kid}" does not exist in set "${params.set}".`)
        sendJson(res, 200, { keys: [r.private_jwk] })
      },
    },
    {
      method: 'PUT',
      path: '/admin/keys/{set}/{kid}',
      handler: async ({ req, res, params }) => sendJson(res, 200, await putKey(params.set!, await readJson(req), params.kid!)),
    },
    {
      method: 'DELETE',
      path: '/admin/keys/{set}/{kid}',
      handler: async ({ res, params }) => {
        if ((await ctx.keys.delete(params.set!, params.kid!)) === 0) throw notFound(`The JSON Web Key "${params.kid}" does not exist in set "${params.set}".`)
        sendEmpty(res, 204)
      },
    },
  ]
}
