#!/usr/bin/env node
// Micro benchmark of what an ID token's signature costs per algorithm, in one process with jose
// (what the token server signs with): an ID token of the shape the code and refresh grants issue,
// signed with RS256 (2048-bit RSA, the key Hydra and Gatehouse create for hydra.openid.id-token),
// ES256 (P-256) and EdDSA (Ed25519), and verified with the public key (a relying party's cost).
// Rounds run A B C … C B A so that drift of a busy machine favours no algorithm.
//
//   node bench/id-token-sign.js [--ms 1000] [--rounds 2] [--algs RS256,ES256,EdDSA]
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { generateKeyPair, jwtVerify, SignJWT } from 'jose'

const { values: args } = parseArgs({
  options: {
    ms: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '2' },
    algs: { type: 'string', default: 'RS256,ES256,EdDSA' },
  },
})
const MS = Number(args.ms)
const ROUNDS = Number(args.rounds)
const algs = args.algs.split(',')

const keys = new Map()
for (const alg of algs) keys.set(alg, await generateKeyPair(alg))

/** The claims of an ID token from the code grant (iss, sub, aud, times, nonce, at_hash, acr, amr, sid, jti and a session claim). */
function claims() {
  const now = Math.floor(Date.now() / 1000)
  return {
    sub: 'bench-user',
    aud: ['bench-oidc-client'],
    auth_time: now - 5,
    rat: now - 6,
    nonce: 'k3Vh1m0V9oV0Jx8d2ZbX0w',
    at_hash: 'a8jWkT1CzS3gk1nYyVb2eg',
    acr: '0',
    amr: ['pwd'],
    sid: randomUUID(),
    jti: randomUUID(),
    email: 'bench-user@example.test',
  }
}

function sign(alg, privateKey) {
  return new SignJWT(claims())
    .setProtectedHeader({ alg, kid: `bench-${alg}`, typ: 'JWT' })
    .setIssuer('http://127.0.0.1:4444/')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey)
}

/** Operations per second of `op` for about MS milliseconds, one at a time (the cost of one, not of a pool). */
async function rate(op) {
  let n = 0
  const start = process.hrtime.bigint()
  const until = start + BigInt(MS) * 1_000_000n
  while (process.hrtime.bigint() < until) {
    await op()
    n++
  }
  return (n * 1e9) / Number(process.hrtime.bigint() - start)
}

const samples = new Map(algs.map((alg) => [alg, { sign: [], verify: [] }]))
const order = Array.from({ length: ROUNDS }, (_, r) => (r % 2 === 0 ? algs : [...algs].reverse())).flat()
// Warm-up: JIT and jose's key caches, not measured.
for (const alg of algs) for (let i = 0; i < 20; i++) await sign(alg, keys.get(alg).privateKey)
for (const alg of order) {
  const { privateKey, publicKey } = keys.get(alg)
  const token = await sign(alg, privateKey)
  samples.get(alg).sign.push(await rate(() => sign(alg, privateKey)))
  samples.get(alg).verify.push(await rate(() => jwtVerify(token, publicKey)))
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
const base = mean(samples.get(algs[0]).sign)
const table = [['alg', 'sign/s', 'µs per sign', `sign vs ${algs[0]}`, 'verify/s', 'µs per verify', 'runs apart (sign)']]
for (const alg of algs) {
  const s = samples.get(alg)
  const signs = mean(s.sign)
  const verifies = mean(s.verify)
  table.push([
    alg,
    String(Math.round(signs)),
    (1e6 / signs).toFixed(0),
    `${(signs / base).toFixed(1)}×`,
    String(Math.round(verifies)),
    (1e6 / verifies).toFixed(0),
    s.sign.length > 1 ? `${(((Math.max(...s.sign) - Math.min(...s.sign)) / signs) * 100).toFixed(0)} %` : '-',
  ])
}
console.log(`\nID-token signatures with jose, one at a time, ${ROUNDS} round(s) of ${MS} ms per algorithm and operation (node ${process.version})\n`)
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)))
for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '))
