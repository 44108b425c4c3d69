import { statusText } from '../../errors.js'
import type { ErrorHandlerDef } from '../types.js'

/** Config of the `json` error handler (its `when` list is compiled separately, see when.ts). */
export interface JsonErrorConfig {
  /**
   * Also answer with the error's reason, details and the request id. Default false: clients
   * see only code, status and message, which keeps internals away from probing clients.
   */
  readonly verbose?: boolean
}

/**
 * Go's encoding/json escapes these, so herodot's bodies carry `\u003c` rather than `<`. Doing
 * the same keeps bodies byte-compatible and stops a reflected value from being sniffed as HTML.
 */
const GO_ESCAPES: Readonly<Record<string, string>> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
}

function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!)
}

/**
 * `json`: answers `{"error":{"code":404,"status":"Not Found","message":"…"}}` with the error's
 * status, the body of Oathkeeper's (herodot's) JSON errors. Fields keep herodot's order
 * (code, status, request, reason, details, message) and empty ones are left out, as Go's
 * `omitempty` does.
 */
export const json = {
  id: 'json',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: { verbose: { type: 'boolean', default: false } },
  },
  create(config) {
    const verbose = config.verbose === true
    return (err, req) => {
      const body: Record<string, unknown> = { code: err.status, status: statusText(err.status) }
      if (verbose) {
        if (req.requestId !== '') body.request = req.requestId
        if (err.reason !== undefined && err.reason !== '') body.reason = err.reason
        if (err.details !== undefined && Object.keys(err.details).length > 0) body.details = err.details
      }
      body.message = err.message
      const headers: Record<string, string> = {}
      // Lower-cased so the content type below replaces, never duplicates, one the error carries.
      if (err.headers !== undefined) for (const [k, v] of Object.entries(err.headers)) headers[k.toLowerCase()] = v
      headers['content-type'] = 'application/json'
      // A final newline as Go's json.Encoder writes it: curl output and log lines do not run together.
      return { status: err.status, headers, body: `${goJson({ error: body })}\n` }
    }
  },
} satisfies ErrorHandlerDef<JsonErrorConfig>
