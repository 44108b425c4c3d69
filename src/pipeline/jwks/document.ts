/**
 * Reading a JSON Web Key Set (RFC 7517 §5) from where a rule says it is: a local file or an
 * http(s) URL. Used by the `jwt` authenticator (public keys) and the `id_token` mutator (private
 * keys); caching and refetch policy live with the callers.
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request, type Dispatcher } from 'undici'
import { ConfigError } from '../../errors.js'
import { isPlainObject } from '../../util/deep-merge.js'

/**
 * A key set larger than this is refused. Real ones are a few KB; the bound keeps a misbehaving
 * server (or a wrong URL pointing at a large file) from making the gateway buffer it.
 */
export const MAX_JWKS_BYTES = 1024 * 1024

/** A JWK as read from the set: an object with at least a `kty`. */
export type RawJwk = Readonly<Record<string, unknown>> & { readonly kty: string }

/** Where a key set is read from. `url` is the URL as configured (for messages and shared keys). */
export type JwksLocation =
  | { readonly kind: 'file'; readonly url: string; readonly path: string }
  | { readonly kind: 'http'; readonly url: string }

/**
 * Checks a configured key set URL at rule load. `file:///abs/path`; `file://rel/path` and
 * `file://./rel` are relative to the working directory (Oathkeeper's examples use
 * `file://../keys.json`); `http://` and `https://`. Anything else is a ConfigError naming `option`.
 */
export function parseJwksLocation(url: string, option: string, cwd = process.cwd()): JwksLocation {
  if (url.startsWith('file://')) {
    const rest = url.slice('file://'.length)
    if (rest === '') throw new ConfigError(`${option}: "${url}" names no file`)
    if (!rest.startsWith('/')) return { kind: 'file', url, path: resolve(cwd, decodeURIComponent(rest)) }
    try {
      return { kind: 'file', url, path: fileURLToPath(url) }
    } catch (err) {
      throw new ConfigError(`${option}: invalid file URL "${url}": ${(err as Error).message}`)
    }
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError(`${option}: "${url}" is not a valid URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`${option}: "${url}" must be a file://, http:// or https:// URL`)
  }
  return { kind: 'http', url }
}

/** Reads the set's text. Rejects on I/O errors, non-2xx answers and oversized bodies. */
export async function readJwksText(loc: JwksLocation, http: Dispatcher, signal: AbortSignal): Promise<string> {
  if (loc.kind === 'file') {
    const text = await readFile(loc.path, { encoding: 'utf8', signal })
    if (Buffer.byteLength(text) > MAX_JWKS_BYTES) throw new Error(`${loc.path} is larger than ${MAX_JWKS_BYTES} bytes`)
    return text
  }
  const res = await request(loc.url, { method: 'GET', dispatcher: http, signal, headers: { accept: 'application/json' } })
  if (res.statusCode < 200 || res.statusCode >= 300) {
    // Drain (bounded) so the keep-alive connection can be reused.
    await res.body.dump({ limit: 64 * 1024 }).catch(() => {})
    throw new Error(`${loc.url} answered HTTP ${res.statusCode}`)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length
    if (size > MAX_JWKS_BYTES) {
      res.body.destroy()
      throw new Error(`${loc.url} answered with more than ${MAX_JWKS_BYTES} bytes`)
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Reads a file key set synchronously: for checks at rule load, where `create` cannot await. */
export function readJwksFileSync(loc: JwksLocation & { kind: 'file' }): string {
  const text = readFileSync(loc.path, 'utf8')
  if (Buffer.byteLength(text) > MAX_JWKS_BYTES) throw new Error(`${loc.path} is larger than ${MAX_JWKS_BYTES} bytes`)
  return text
}

/**
 * Parses `{"keys": [...]}`. Entries that are not objects with a string `kty` are skipped rather
 * than failing the set, as other JWKS consumers do: one unusable key must not hide the others.
 * @throws Error when the text is not JSON or not a key set.
 */
export function parseJwks(text: string): RawJwk[] {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`)
  }
  if (!isPlainObject(doc) || !Array.isArray(doc.keys)) throw new Error('not a JSON Web Key Set (expected {"keys": [...]})')
  return doc.keys.filter((k): k is RawJwk => isPlainObject(k) && typeof k.kty === 'string')
}
