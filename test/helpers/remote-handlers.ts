/**
 * Helpers for tests of handlers that call other services: building a handler the way a rule load
 * does, pipeline requests, and a recording HTTP service on 127.0.0.1:0.
 */
import { Ajv } from 'ajv'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pino } from 'pino'
import type { Test } from 'tap'
import { Agent } from 'undici'
import type { Registry } from '../../src/pipeline/registry.js'
import type { PipelineRequest } from '../../src/pipeline/session.js'
import { SharedResources } from '../../src/pipeline/shared.js'
import type { HandlerDef, HandlerDeps } from '../../src/pipeline/types.js'

/** Deps with a real keep-alive Agent, closed when `t` ends. */
export function testDeps(t: Test): HandlerDeps {
  const deps: HandlerDeps = { logger: pino({ level: 'silent' }), http: new Agent(), shared: new SharedResources() }
  t.teardown(async () => {
    await deps.shared.close()
    await deps.http.close()
  })
  return deps
}

/** Validates (with defaults, as the rule compiler does) and creates the handler. */
export function build<Fn>(deps: HandlerDeps, registry: Registry<HandlerDef<any, Fn>>, id: string, config: Record<string, unknown>): Fn {
  const def = registry.get(id)
  const validate = new Ajv({ useDefaults: true, strict: true, allowUnionTypes: true }).compile(def.schema)
  const merged = structuredClone(config)
  if (!validate(merged)) throw new Error(`${id}: ${JSON.stringify(validate.errors)}`)
  return def.create(merged, deps)
}

/** A pipeline request (no body unless readBody is given). */
export function pipelineRequest(
  headers: IncomingHttpHeaders = {},
  url = 'http://gw.test/users/42?view=full',
  method = 'GET',
  extra: Partial<PipelineRequest> = {},
): PipelineRequest {
  return { method, url: new URL(url), headers, remoteAddress: '127.0.0.1', requestId: 'req-1', ...extra }
}

export interface Recorded {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export type Responder = (req: Recorded, res: ServerResponse) => void

/** A service that records every request (with its body) and answers through `respond`. */
export async function startRecorder(t: Test, respond: Responder = (_r, res) => res.end()) {
  const seen: Recorded[] = []
  const state = { respond }
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const r: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      seen.push(r)
      state.respond(r, res)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  )
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    /** Replaces the answer for later requests. */
    answer(fn: Responder): void {
      state.respond = fn
    },
  }
}

/** Answers with a status, headers and a JSON (or text) body. */
export function reply(status: number, body: unknown = '', headers: Record<string, string> = {}): Responder {
  return (_r, res) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers })
    res.end(text)
  }
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((r) => s.close(() => r()))
  return port
}
