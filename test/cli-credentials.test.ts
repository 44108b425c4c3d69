import t from 'tap'
import { importJWK, jwtVerify, SignJWT, type JWK } from 'jose'
import { run } from './helpers/cli.js'

t.test('credentials generate prints a JWKS with one private signing key', async (t) => {
  const cases = [
    { args: ['--alg', 'RS256', '--kid', 'k-rsa', '--bits', '3072'], alg: 'RS256', kty: 'RSA', kid: /^k-rsa$/ },
    { args: ['--alg', 'ES256'], alg: 'ES256', kty: 'EC', kid: /^[0-9a-f-]{36}$/ },
  ] as const
  for (const c of cases) {
    const r = await run(['credentials', 'generate', ...c.args])
    t.equal(r.code, 0, r.stderr)
    const set = JSON.parse(r.stdout) as { keys: JWK[] }
    t.equal(set.keys.length, 1)
    const key = set.keys[0]!
    t.match(key, { kty: c.kty, alg: c.alg, kid: c.kid, use: 'sig' }, `${c.alg}: kid given or a random UUID`)
    t.type(key.d, 'string', 'private key material')
    // The key signs, and its public part verifies: usable as the id_token mutator's jwks_url.
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = key
    const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: c.alg }).sign(await importJWK(key, c.alg))
    t.equal((await jwtVerify(token, await importJWK(pub, c.alg))).payload.sub, 'x', `${c.alg} signs and verifies`)
    if (c.kty === 'RSA') t.equal(Buffer.from(key.n!, 'base64url').length * 8, 3072, '--bits')
  }
})

t.test('bad flags → exit 1 with a message naming the option', async (t) => {
  const missing = await run(['credentials', 'generate'])
  t.not(missing.code, 0)
  t.match(missing.stderr, /--alg/)
  const bad = await run(['credentials', 'generate', '--alg', 'HS256'])
  t.not(bad.code, 0)
  t.match(bad.stderr, /Allowed choices are RS256, .*ES256/)
  const small = await run(['credentials', 'generate', '--alg', 'RS256', '--bits', '1024'])
  t.not(small.code, 0)
  t.match(small.stderr, /between 2048 and 8192/)
})
