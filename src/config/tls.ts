/**
 * TLS settings, shared by the gateway (Oathkeeper's `serve.proxy.tls`, `serve.api.tls`) and the
 * token server (Hydra's `serve.tls`, `serve.public.tls`, `serve.admin.tls`): a PEM certificate
 * (chain) and its private key, each from a file or inline as base64. Nothing set: plain HTTP.
 */
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { ConfigError } from '../errors.js'
// Type-only: schema.ts imports this file, so a value import would be circular.
import type { SchemaNode } from './schema.js'

/** Where one PEM document comes from. A file is watched and reloaded when it changes. */
export interface PemSource {
  /** Path to the PEM file. */
  readonly path?: string
  /** The PEM file's content, base64-encoded (`base64 -w0 cert.pem`); padding optional. */
  readonly base64?: string
}

/** `tls.cert` and `tls.key`; both or neither. */
export interface TlsConfig {
  readonly cert?: PemSource
  readonly key?: PemSource
}

/** The PEM documents read from a TlsConfig, ready for `https.createServer`. */
export interface TlsMaterial {
  readonly cert: Buffer
  readonly key: Buffer
}

const pemSource: SchemaNode = {
  type: 'object',
  properties: { path: { type: 'string', minLength: 1 }, base64: { type: 'string', minLength: 1 } },
  additionalProperties: false,
}

/** The schema of a `tls` block; optional keys (the config types mark them so). */
export function tlsSchema(extra: Record<string, SchemaNode> = {}): SchemaNode {
  return { type: 'object', properties: { cert: pemSource, key: pemSource, ...extra }, additionalProperties: false }
}

function isSet(s: PemSource | undefined): s is PemSource {
  return s?.path !== undefined || s?.base64 !== undefined
}

/** True when the block asks for TLS (any of cert/key set); readTlsMaterial then checks the rest. */
export function tlsEnabled(tls: TlsConfig | undefined): tls is TlsConfig {
  return isSet(tls?.cert) || isSet(tls?.key)
}

/** The files a TlsConfig reads (to watch for changes). */
export function tlsPaths(tls: TlsConfig): string[] {
  return [tls.cert?.path, tls.key?.path].filter((p): p is string => p !== undefined)
}

/**
 * Reads the certificate and key and checks that they are usable together (parsable PEM, the key
 * matches the certificate). Throws a ConfigError listing every problem, each naming its key path
 * under `where` (e.g. `serve.proxy.tls.cert.path: cannot read …`).
 */
export function readTlsMaterial(tls: TlsConfig, where: string): TlsMaterial {
  const problems: string[] = []
  const cert = readPem(tls.cert, `${where}.cert`, problems)
  const key = readPem(tls.key, `${where}.key`, problems)
  if (cert !== undefined && key !== undefined) {
    try {
      createSecureContext({ cert, key })
    } catch (err) {
      problems.push(`${where}: the certificate and key cannot be used together (${(err as Error).message})`)
    }
  }
  if (problems.length > 0 || cert === undefined || key === undefined) throw new ConfigError('invalid TLS configuration', problems)
  return { cert, key }
}

function readPem(src: PemSource | undefined, where: string, problems: string[]): Buffer | undefined {
  if (!isSet(src)) {
    problems.push(`${where}: missing; TLS needs both cert and key (set ${where}.path or ${where}.base64)`)
    return undefined
  }
  if (src.path !== undefined && src.base64 !== undefined) {
    problems.push(`${where}: set path or base64, not both`)
    return undefined
  }
  let pem: Buffer
  if (src.path !== undefined) {
    try {
      pem = readFileSync(src.path)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      problems.push(`${where}.path: cannot read ${src.path} (${code === 'ENOENT' ? 'no such file' : (code ?? String(err))})`)
      return undefined
    }
  } else pem = Buffer.from(src.base64 ?? '', 'base64')
  // Node's own error for a non-PEM input ("no start line") does not say which key was wrong.
  if (!pem.includes('-----BEGIN ')) {
    problems.push(`${where}${src.path === undefined ? '.base64: not the base64 of a PEM document' : `.path: ${src.path} is not a PEM file`}`)
    return undefined
  }
  return pem
}
