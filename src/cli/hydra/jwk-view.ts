import { CliError } from './errors.js'
import { str, type Row, type Table } from './output.js'

/** A JSON Web Key as the admin API returns it. */
export type Jwk = Record<string, unknown>

/** A key and the set it belongs to. */
export interface SetKey {
  readonly set: string
  readonly key: Jwk
}

/** Hydra's outputJsonWebKey columns. */
const HEADER = ['SET ID', 'KEY ID', 'ALGORITHM', 'USE'] as const

const columns = (k: SetKey): string[] => [k.set, str(k.key.kid), str(k.key.alg), str(k.key.use)]

/** Hydra adds the set to each key's JSON. */
const keyJson = (k: SetKey): Jwk => ({ ...k.key, set: k.set })

/** One key. `--quiet` prints its first column, the set id, as Hydra's does. */
export function keyRow(k: SetKey): Row {
  return { header: [...HEADER], values: columns(k), json: keyJson(k), id: k.set }
}

/** Several keys; `set` is left out of the JSON when they come from several sets. `--quiet` prints the key ids. */
export function keyTable(keys: readonly SetKey[], set?: string): Table {
  return {
    header: [...HEADER],
    rows: keys.map(columns),
    json: { ...(set === undefined ? {} : { set }), keys: keys.map(keyJson) },
    ids: keys.map((k) => str(k.key.kid)),
  }
}

/** The keys of a `{"keys": […]}` answer; anything else means the endpoint is not the admin API. */
export function asKeySet(body: unknown, what: string): Jwk[] {
  const keys = (body as { keys?: unknown } | undefined)?.keys
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k))) {
    throw new CliError(`${what}: the server did not answer with a JSON Web Key Set; is --endpoint the admin API?`)
  }
  return keys as Jwk[]
}

/** Members that make a JWK private (RFC 7518 §6): what `--public` removes. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

/** `--public`: the public half of a key; a symmetric key has none, so it is an error. */
export function publicKey(key: Jwk): Jwk {
  if (key.kty === 'oct') throw new CliError(`key "${str(key.kid)}" is a symmetric key and has no public part`)
  return Object.fromEntries(Object.entries(key).filter(([k]) => !PRIVATE_MEMBERS.includes(k)))
}
