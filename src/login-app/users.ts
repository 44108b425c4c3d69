/**
 * The login app's users: a YAML file of user names, password hashes and OpenID Connect claims.
 *
 * ```yaml
 * users:
 *   - username: foo@bar.com
 *     password_hash: $pbkdf2-sha256$i=600000,l=32$…   # gatehouse login-app hash-password
 *     subject: foo@bar.com                            # optional; the user name by default
 *     claims: { name: Foo Bar, email: foo@bar.com, email_verified: true }
 * ```
 *
 * Passwords are checked with the token server's hasher module (`token-server/hash.ts`): it depends
 * on nothing of the token server but node:crypto and bcryptjs, and reusing it means one set of
 * encodings (`$pbkdf2-sha256$…`, bcrypt) with bounded parameters and a constant-time comparison,
 * instead of a second implementation to keep right.
 */
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../errors.js'
import { createHasher, type Hasher } from '../token-server/hash.js'
import { isPlainObject } from '../util/deep-merge.js'

/** One user of the login app. */
export interface User {
  readonly username: string
  readonly subject: string
  readonly passwordHash: string
  /** OpenID Connect claims (name, email, email_verified, …), released by scope at consent. */
  readonly claims: Readonly<Record<string, unknown>>
}

/** The users file, loaded and indexed. */
export interface Users {
  /** The user, when the name is known and the password matches; undefined otherwise. */
  authenticate(username: string, password: string): Promise<User | undefined>
  bySubject(subject: string): User | undefined
}

/**
 * PBKDF2-SHA256 iterations for new hashes: OWASP's 2023 figure. Hydra's 25,000 (client secrets,
 * which are random) is too few for passwords people choose.
 */
export const PASSWORD_ITERATIONS = 600_000

/** The hasher `hash-password` uses. */
export function passwordHasher(iterations = PASSWORD_ITERATIONS): Hasher {
  return createHasher({ algorithm: 'pbkdf2', pbkdf2: { iterations }, bcrypt: { cost: 12 } })
}

/** Reads and checks the users file; every problem is reported at once (ConfigError). */
export function loadUsers(file: string): Users {
  let doc: unknown
  try {
    doc = parseYaml(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError(`users_file: cannot read ${file}: ${(err as Error).message}`)
  }
  return usersFrom(doc, file)
}

/** The same checks as loadUsers, on a parsed document. */
export function usersFrom(doc: unknown, origin = 'users'): Users {
  const problems: string[] = []
  const list = isPlainObject(doc) ? doc.users : undefined
  if (!Array.isArray(list)) throw new ConfigError(`${origin}: must have a list "users"`)
  const byName = new Map<string, User>()
  const bySubject = new Map<string, User>()
  list.forEach((entry: unknown, i) => {
    const where = `${origin}: users[${i}]`
    if (!isPlainObject(entry)) return problems.push(`${where}: must be a mapping`)
    const { username, password_hash: hash, subject = username, claims = {} } = entry
    if (typeof username !== 'string' || username === '') return problems.push(`${where}.username: must be a non-empty string`)
    if (typeof hash !== 'string' || !/^\$(pbkdf2-sha256|2[aby])\$/.test(hash)) {
      return problems.push(`${where}.password_hash: must be a hash from "gatehouse login-app hash-password"`)
    }
    if (typeof subject !== 'string' || subject === '') return problems.push(`${where}.subject: must be a non-empty string`)
    if (!isPlainObject(claims)) return problems.push(`${where}.claims: must be a mapping`)
    if (byName.has(username)) return problems.push(`${where}.username: ${username} is listed twice`)
    const user: User = { username, subject, passwordHash: hash, claims }
    byName.set(username, user)
    bySubject.set(subject, user)
  })
  if (problems.length > 0) throw new ConfigError(`invalid users file ${origin}`, problems)
  const hasher = passwordHasher()
  // Checked when the name is unknown, so that an unknown name takes as long as a wrong password
  // (no user enumeration by timing). Its iterations match the usual hash's.
  const decoy = `$pbkdf2-sha256$i=${PASSWORD_ITERATIONS},l=32$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`
  return {
    async authenticate(username, password) {
      const user = byName.get(username)
      const ok = await hasher.verify(password, user?.passwordHash ?? decoy)
      return ok && user !== undefined ? user : undefined
    },
    bySubject: (subject) => bySubject.get(subject),
  }
}

/** Standard claims by the scope that releases them (OpenID Connect Core, 5.4). */
const CLAIMS_BY_SCOPE: Readonly<Record<string, readonly string[]>> = {
  profile: [
    'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
    'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
}

/**
 * The user's claims that the granted scopes release, for the ID token (and userinfo, which Hydra
 * answers from the same session). A claim no standard scope covers is never released.
 */
export function claimsFor(user: User | undefined, grantedScopes: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (user === undefined) return out
  for (const scope of grantedScopes) {
    for (const claim of CLAIMS_BY_SCOPE[scope] ?? []) {
      if (Object.hasOwn(user.claims, claim)) out[claim] = user.claims[claim]
    }
  }
  return out
}
