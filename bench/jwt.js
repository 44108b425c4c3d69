#!/usr/bin/env node
// Micro benchmark of the `jwt` authenticator in one process (no HTTP): what a token costs the
// first time it is seen (signature check: RSA for RS256) against a token seen again (the
// verified-token cache: a SHA-256 and a lookup), and with the cache turned off. The key set is a
// file, so no network is involved. Rounds run A B B A so that drift does not favour one case.
//
//   npm run build && node bench/jwt.js [--tokens 2000] [--rounds 4] [--alg RS256] [--dist dist]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { pino } from 'pino'
import { Agent } from 'undici'

const { values: args } = parseArgs({
  options: {
    tokens: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '4' },
    alg: { type: 'string', default: 'RS256' },
    dist: { type: 'string', default: 'dist' },
  },
})
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dist = (file) => pathToFileURL(resolve(ROOT, args.dist, file)).href
const { authenticators } = await import(dist('pipeline/authn/index.js'))
const { newSession } = await import(dist('pipeline/session.js'))
const { SharedResources } = await import(dist('pipeline/shared.js'))

const TOKENS = Number(args.tokens)
const ROUNDS = Number(args.rounds)
const alg = args.alg

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-jwt-'))
const http = new Agent()
const shared = new SharedResources()
try {
  const { privateKey, publicKey } = await generateKeyPair(alg)
  const file = join(dir, 'jwks.json')
  writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg, use: 'sig' }] }))
  const exp = Math.floor(Date.now() / 1000) + 3600
  const sign = (sub) => new SignJWT({ sub, scp: ['read', 'write'], aud: ['api'], exp }).setProtectedHeader({ alg, kid: 'k1' }).sign(privateKey)
  const tokens = []
  for (let i = 0; i < TOKENS; i++) tokens.push(await sign(`user-${i}`))

  const def = authenticators().get('jwt')
  const deps = { logger: pino({ level: 'silent' }), http, shared }
  const config = (cache) => ({ jwks_urls: [pathToFileURL(file).href], allowed_algorithms: [alg], target_audience: ['api'], cache })
  const cached = def.create(config({ enabled: true, max_tokens: TOKENS * 2 }), deps)
  const uncached = def.create(config({ enabled: false }), deps)
  const call = async (authn, token) => {
    const req = { method: 'GET', url: new URL('http://gw.test/api'), headers: { authorization: `Bearer ${token}` }, remoteAddress: '127.0.0.1', requestId: 'r' }
    if ((await authn(req, newSession(req, []))) !== true) throw new Error('token not accepted')
  }
  // The key set is read in the background at create: wait for it, and warm the JIT.
  for (let i = 0; i < 200; i++) await call(uncached, tokens[i % 50])

  /** µs per call over `n` calls; `pick(i)` chooses the token of call i. */
  const time = async (authn, n, pick) => {
    const started = process.hrtime.bigint()
    for (let i = 0; i < n; i++) await call(authn, pick(i))
    return Number(process.hrtime.bigint() - started) / 1000 / n
  }
  const cases = {
    // A fresh cache per round, and every token new to it: the cost of a first sight.
    'first seen (cache on)': async () => {
      shared.list('authn/jwt/verified').forEach((c) => c.lru.clear())
      return time(cached, TOKENS, (i) => tokens[i])
    },
    // The same tokens again, now in the cache (filled by the round above or before).
    'seen again (cache on)': async () => {
      for (const tok of tokens) await call(cached, tok)
      return time(cached, TOKENS * 10, (i) => tokens[i % TOKENS])
    },
    'cache off': async () => time(uncached, TOKENS, (i) => tokens[i]),
  }
  const names = Object.keys(cases)
  const samples = Object.fromEntries(names.map((n) => [n, []]))
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse()
    for (const name of order) samples[name].push(await cases[name]())
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const again = median(samples['seen again (cache on)'])
  console.log(`jwt authenticator, ${alg}, ${TOKENS} distinct tokens, ${ROUNDS} rounds (A B B A), median µs per call, Node ${process.version}\n`)
  for (const name of names) {
    const m = median(samples[name])
    console.log(`${name.padEnd(24)} ${m.toFixed(2).padStart(8)} µs   ${(m / again).toFixed(1).padStart(6)}× seen again`)
  }
} finally {
  await shared.close()
  await http.close()
  rmSync(dir, { recursive: true, force: true })
}
