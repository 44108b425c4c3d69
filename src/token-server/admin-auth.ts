import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendJson } from './http/io.js'

/**
 * Optional protection of the admin API (beyond Hydra, whose admin API has none): requests must
 * carry `Authorization: Bearer <one of serve.admin.auth.api_keys>`. Health endpoints stay open
 * for probes (with or without the `/admin` prefix). Keys are compared as SHA-256 digests in constant time, so neither the length nor
 * a prefix of a key leaks through timing.
 */
export function requireApiKey(
  keys: readonly string[],
  next: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  if (keys.length === 0) return next
  const digests = keys.map((k) => createHash('sha256').update(k).digest())
  return (req, res) => {
    const url = req.url ?? '/'
    if (url.startsWith('/health/') || url.startsWith('/admin/health/')) return next(req, res)
    const header = req.headers.authorization ?? ''
    const space = header.indexOf(' ')
    const given = space > 0 && header.slice(0, space).toLowerCase() === 'bearer' ? header.slice(space + 1) : ''
    const digest = createHash('sha256').update(given).digest()
    // Every key is compared, match or not: the time taken does not say which one matched.
    let ok = false
    for (const d of digests) ok = timingSafeEqual(d, digest) || ok
    if (ok && given !== '') return next(req, res)
    req.resume()
    sendJson(res, 401, { error: 'unauthorized', error_description: 'The admin API requires an API key: Authorization: Bearer <key>.' }, { 'www-authenticate': 'Bearer realm="gatehouse-admin"' })
  }
}

/** True for addresses only this machine can reach. '' (all interfaces) is not. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}
