import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'

/** What the metrics port renders: a prom-client Registry, or the cluster primary's aggregate of its workers' registries. */
export interface MetricsSource {
  metrics(): Promise<string>
  readonly contentType: string
}

/**
 * The request handler of the Prometheus port (`serve.prometheus`): the registry's text at
 * `path` (GET or HEAD), 404 elsewhere, as Oathkeeper's metrics server. A port of its own, so
 * the scrape endpoint can stay inside the cluster while the proxy faces the world.
 */
export function createMetricsHandler(registry: MetricsSource, path: string, logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    if ((q === -1 ? url : url.slice(0, q)) !== path) {
      send(res, 404, 'text/plain; charset=utf-8', `not found; metrics are at ${path}\n`)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n')
      return
    }
    registry.metrics().then(
      (text) => send(res, 200, registry.contentType, req.method === 'HEAD' ? undefined : text, Buffer.byteLength(text)),
      (err: unknown) => {
        logger.error({ err }, 'collecting metrics failed')
        send(res, 500, 'text/plain; charset=utf-8', 'collecting metrics failed\n')
      },
    )
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | undefined, length = body === undefined ? 0 : Buffer.byteLength(body)): void {
  if (res.destroyed) return
  res.writeHead(status, { 'content-type': type, 'content-length': length })
  res.end(body)
}
