/** The login app's users file: checks, password verification, claims released by scope. */
import t from 'tap'
import bcrypt from 'bcryptjs'
import { ConfigError } from '../src/errors.js'
import { claimsFor, passwordHasher, usersFrom } from '../src/login-app/users.js'

const pbkdf2 = await passwordHasher(1000).hash('s3cret')
const users = usersFrom({
  users: [
    { username: 'ann', password_hash: pbkdf2, claims: { name: 'Ann', email: 'ann@x.test', email_verified: false, phone_number: '+1', role: 'admin' } },
    { username: 'bob', subject: 'sub-bob', password_hash: bcrypt.hashSync('hunter2', 4) },
  ],
})

t.test('authenticate: the right password (PBKDF2 or bcrypt) → the user; anything else → undefined', async (t) => {
  t.equal((await users.authenticate('ann', 's3cret'))?.subject, 'ann', 'subject defaults to the user name')
  t.equal((await users.authenticate('bob', 'hunter2'))?.subject, 'sub-bob')
  t.equal(await users.authenticate('ann', 'S3cret'), undefined)
  t.equal(await users.authenticate('ann', ''), undefined)
  t.equal(await users.authenticate('nobody', 's3cret'), undefined)
  t.equal(users.bySubject('sub-bob')?.username, 'bob')
  t.equal(users.bySubject('bob'), undefined)
})

t.test('claims are released by granted scope; a claim no standard scope covers never is', async (t) => {
  const ann = users.bySubject('ann')
  t.same(claimsFor(ann, ['openid']), {})
  t.same(claimsFor(ann, ['openid', 'email']), { email: 'ann@x.test', email_verified: false })
  t.same(claimsFor(ann, ['profile', 'phone', 'role']), { name: 'Ann', phone_number: '+1' })
  t.same(claimsFor(undefined, ['email']), {})
})

t.test('every problem of the file at once, each with its place', async (t) => {
  let err: unknown
  try {
    usersFrom({ users: [{ username: 'a', password_hash: pbkdf2 }, { username: 'a', password_hash: pbkdf2 }, { username: 'c', password_hash: pbkdf2, claims: [] }, 'x', { username: 'd', password_hash: pbkdf2, subject: 7 }] }, 'u.yml')
  } catch (e) {
    err = e
  }
  t.type(err, ConfigError)
  t.same((err as ConfigError).problems, [
    'u.yml: users[1].username: a is listed twice',
    'u.yml: users[2].claims: must be a mapping',
    'u.yml: users[3]: must be a mapping',
    'u.yml: users[4].subject: must be a non-empty string',
  ])
  t.throws(() => usersFrom({}, 'u.yml'), { message: 'u.yml: must have a list "users"' })
})
