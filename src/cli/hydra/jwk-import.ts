import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto'
import type { Command } from 'commander'
import { action, ApiError, CliError, report } from './errors.js'
import { callApi, target } from './http.js'
import type { Jwk, SetKey } from './jwk-view.js'
import { keyTable } from './jwk-view.js'
import { verb, type CommonOptions } from './options.js'
import { printTable } from './output.js'
import { readInputs } from './read-inputs.js'

interface ImportJwkOptions extends CommonOptions {
  readonly use: string
  readonly alg?: string
}

/**
 * `gatehouse import jwk SET FILE...`: adds keys to a set (PUT /admin/keys/{set}/{kid}), as
 * Hydra's `import jwk`. A file holds a JSON Web Key, or a PEM or DER private or public key
 * (RSA, EC, Ed25519); no file: stdin. A key without a kid gets a random one; `--alg` and
 * `--use` fill in what the key does not say itself.
 */
export function importJwkCommand(): Command {
  return verb('jwk', 'admin', 'import JSON Web Keys (JWK, PEM or DER files, or stdin) into a set (PUT /admin/keys/{set}/{kid})')
    .argument('<set-id>', 'the key set to add the keys to (created if new)')
    .argument('[files...]', 'key files; "-" or none: stdin')
    .option('--use <use>', 'the key\'s "use" when the key does not set it: sig or enc', 'sig')
    .option('--alg <alg>', 'the key\'s "alg" when the key does not set it (required for PEM/DER keys), e.g. RS256')
    .addHelpText('after', '\nExample:\n  gatehouse import jwk my-set ./rsa.key ./other.jwk.json --alg RS256 --endpoint http://127.0.0.1:4445/')
    .action(
      action(async (set: string, files: string[], opts: ImportJwkOptions) => {
        const to = target(opts, 'admin')
        // Every key is read and checked before the first is sent.
        const keys = readInputs(files).map((i) => ({ source: i.source, key: complete(i.source, loadKey(i.source, i.content), opts) }))
        const imported: SetKey[] = []
        let failed = false
        for (const { source, key } of keys) {
          const what = `${source}: could not import the JSON Web Key "${String(key.kid)}"`
          try {
            const res = await callApi(to, { method: 'PUT', path: `admin/keys/${encodeURIComponent(set)}/${encodeURIComponent(String(key.kid))}`, json: key, what })
            imported.push({ set, key: (res.body as Jwk | undefined) ?? key })
          } catch (err) {
            if (!(err instanceof ApiError)) throw err
            report(err)
            failed = true
          }
        }
        printTable(opts, keyTable(imported, set))
        if (failed) process.exitCode = 1
      }),
    )
}

/** A JWK from JSON, or from a PEM/DER private key, else a PEM/DER public key. */
export function loadKey(source: string, content: Buffer): Jwk {
  const text = content.toString('utf8').trim()
  if (text.startsWith('{')) {
    let v: unknown
    try {
      v = JSON.parse(text)
    } catch (err) {
      throw new CliError(`could not decode the JSON Web Key in ${source}: ${(err as Error).message}`)
    }
    if (typeof v !== 'object' || v === null || typeof (v as Jwk).kty !== 'string') throw new CliError(`${source} is not a JSON Web Key: "kty" is missing`)
    return v as Jwk
  }
  const key = firstOf<KeyObject>([
    () => createPrivateKey(content),
    () => createPrivateKey({ key: content, format: 'der', type: 'pkcs8' }),
    () => createPrivateKey({ key: content, format: 'der', type: 'pkcs1' }),
    () => createPrivateKey({ key: content, format: 'der', type: 'sec1' }),
    () => createPublicKey(content),
    () => createPublicKey({ key: content, format: 'der', type: 'spki' }),
    () => createPublicKey({ key: content, format: 'der', type: 'pkcs1' }),
  ])
  if (key === undefined) throw new CliError(`could not decode a key from ${source}: not a JSON Web Key, nor a PEM or DER private or public key`)
  return key.export({ format: 'jwk' }) as Jwk
}

function firstOf<T>(attempts: readonly (() => T)[]): T | undefined {
  for (const f of attempts) {
    try {
      return f()
    } catch {
      // Not this format; try the next.
    }
  }
  return undefined
}

/** kid, alg and use: the key's own, else the flags (kid: a random UUID). */
function complete(source: string, key: Jwk, opts: ImportJwkOptions): Jwk {
  const alg = typeof key.alg === 'string' && key.alg !== '' ? key.alg : opts.alg
  if (alg === undefined || alg === '') throw new CliError(`${source}: flag --alg is required when the imported key does not define "alg" itself`)
  const use = typeof key.use === 'string' && key.use !== '' ? key.use : opts.use
  const kid = typeof key.kid === 'string' && key.kid !== '' ? key.kid : randomUUID()
  return { ...key, kid, alg, use }
}
