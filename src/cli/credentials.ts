import { randomUUID } from 'node:crypto'
import { Command, InvalidArgumentError, Option } from 'commander'
import { exportJWK, generateKeyPair, type JWK } from 'jose'

/** Algorithms `credentials generate` makes keys for: those the id_token mutator signs with. */
export const GENERATE_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const
export type GenerateAlgorithm = (typeof GENERATE_ALGORITHMS)[number]

export interface GenerateOptions {
  readonly alg: GenerateAlgorithm
  /** Default: a random UUID (Oathkeeper: random when empty). */
  readonly kid?: string
  readonly use?: 'sig'
  /** RSA modulus length; ignored for EC and OKP keys. Default 2048. */
  readonly bits?: number
}

/** A JWKS with one new private key (kid, alg and use set), ready for the id_token mutator's `jwks_url`. */
export async function generateJwks(opts: GenerateOptions): Promise<{ keys: JWK[] }> {
  const isRsa = opts.alg.startsWith('RS') || opts.alg.startsWith('PS')
  const { privateKey } = await generateKeyPair(opts.alg, {
    extractable: true,
    ...(isRsa ? { modulusLength: opts.bits ?? 2048 } : {}),
  })
  const jwk = await exportJWK(privateKey)
  return { keys: [{ ...jwk, kid: opts.kid || randomUUID(), alg: opts.alg, use: opts.use ?? 'sig' }] }
}

function parseBits(value: string): number {
  // Below 2048 bits RSA is breakable in practice (NIST SP 800-131A); above 8192 generation takes minutes.
  if (!/^\d+$/.test(value) || Number(value) < 2048 || Number(value) > 8192 || Number(value) % 8 !== 0) {
    throw new InvalidArgumentError('must be a multiple of 8 between 2048 and 8192')
  }
  return Number(value)
}

/**
 * `gatehouse credentials generate --alg RS256|ES256|… [--kid K] [--use sig] [--bits N]`, as
 * Oathkeeper's `credentials generate`: prints a JSON Web Key Set holding one private key, e.g.
 * `gatehouse credentials generate --alg ES256 > id_token.jwks.json`.
 */
export function credentialsCommand(): Command {
  const credentials = new Command('credentials').description('generate keys for handlers (the id_token mutator)')
  credentials
    .command('generate')
    .description('print a JSON Web Key Set with one new PRIVATE key, usable as the id_token mutator\'s jwks_url file')
    .addOption(new Option('--alg <alg>', 'the signing algorithm of the key').choices(GENERATE_ALGORITHMS).makeOptionMandatory())
    .option('--kid <kid>', 'the key id (kid); a random UUID when not given')
    .addOption(new Option('--use <use>', 'the key\'s "use"').choices(['sig']).default('sig'))
    .option('--bits <bits>', 'RSA key size in bits (RS*/PS* only)', parseBits, 2048)
    .addHelpText('after', '\nExamples:\n  $ gatehouse credentials generate --alg ES256 > id_token.jwks.json\n  $ gatehouse credentials generate --alg RS256 --kid 2024-01 --bits 3072 > id_token.jwks.json')
    .action(async (opts: GenerateOptions) => {
      const jwks = await generateJwks(opts)
      process.stdout.write(`${JSON.stringify(jwks, null, 2)}\n`)
    })
  return credentials
}
