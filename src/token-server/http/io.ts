import type { IncomingMessage, ServerResponse } from 'node:http'
import busboy, { type Busboy } from 'busboy'
import { invalidRequest, OAuthError } from '../oauth-error.js'

/** Bodies of both APIs are small (forms, client JSON); anything larger is refused unread. */
const MAX_BODY = 1024 * 1024

/** Reads the whole body (bounded); 413 when it is larger than the limit. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > MAX_BODY) {
    // Drained, not read: the client gets the 413 instead of a reset while it is still sending.
    req.resume()
    return Promise.reject(tooLarge())
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY) {
        req.removeAllListeners('data')
        req.resume()
        reject(tooLarge())
        return
      }
      chunks.push(c)
    })
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
    req.once('error', reject)
  })
}

function tooLarge(): OAuthError {
  // Closing the connection: its unread remainder must not be parsed as the next request.
  return new OAuthError(413, 'invalid_request', `request body larger than ${MAX_BODY} bytes`, { connection: 'close' })
}

/** NUL has no place in any field of these APIs, and Postgres refuses it in text: stop it at the door. */
function refuseNul(text: string): void {
  if (text.includes('\u0000') || text.includes('\\u0000')) throw invalidRequest('the request contains a NUL character')
}

function mediaType(req: IncomingMessage): string {
  const ct = req.headers['content-type'] ?? ''
  const semi = ct.indexOf(';')
  return (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase()
}

/**
 * A form body (RFC 6749 §3.2, RFC 7662 §2.1, RFC 7009 §2.1): `application/x-www-form-urlencoded`,
 * or `multipart/form-data`, which Hydra (fosite's ParseMultipartForm) accepts too, so
 * `curl -F grant_type=client_credentials` works. Both are bounded by the same 1 MiB as every body.
 */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  if (req.method !== 'POST') throw invalidRequest('the request must use POST')
  const type = mediaType(req)
  let form: URLSearchParams
  if (type === 'application/x-www-form-urlencoded') form = new URLSearchParams((await readBody(req)).toString('utf8'))
  else if (type === 'multipart/form-data') form = await parseMultipart(req, await readBody(req))
  else throw invalidRequest('the request body must be application/x-www-form-urlencoded or multipart/form-data')
  for (const [k, v] of form) refuseNul(k + v)
  // RFC 6749 §3.2: parameters must not be repeated (audience is the documented exception).
  for (const name of ['grant_type', 'scope', 'token', 'client_id', 'client_secret', 'token_type_hint']) {
    if (form.getAll(name).length > 1) throw invalidRequest(`the parameter "${name}" is included more than once`)
  }
  return form
}

/**
 * The fields of a multipart body already read (so the size bound is readBody's). File parts are
 * skipped, as Go's PostForm leaves them out; anything malformed is one invalid_request.
 */
function parseMultipart(req: IncomingMessage, body: Buffer): Promise<URLSearchParams> {
  const malformed = (why: string): OAuthError =>
    invalidRequest(`Unable to parse HTTP body, make sure to send a properly formatted form request body: ${why}`)
  return new Promise((resolve, reject) => {
    const form = new URLSearchParams()
    let parser: Busboy
    try {
      parser = busboy({ headers: req.headers, limits: { fieldSize: MAX_BODY, fieldNameSize: 1024 } })
    } catch (err) {
      reject(malformed((err as Error).message))
      return
    }
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated || info.nameTruncated) parser.destroy(new Error('a field is too large'))
      else form.append(name, value)
    })
    parser.on('file', (_name, stream) => stream.resume())
    parser.once('error', (err: Error) => reject(malformed(err.message)))
    parser.once('close', () => resolve(form))
    parser.end(body)
  })
}

/** A JSON body; 400 with the parser's reason when it is not JSON. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = (await readBody(req)).toString('utf8')
  refuseNul(text)
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw invalidRequest(`the request body is not valid JSON: ${(err as Error).message}`)
  }
}

/** Writes JSON with an exact length, newline-terminated as Hydra's (Go's encoder) are, so curl output stays readable. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = `${JSON.stringify(body)}\n`
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

export function sendEmpty(res: ServerResponse, status: number, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { ...headers, 'content-length': '0' })
  res.end()
}
