import { mkdtempSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { stringify } from 'yaml'
import { buildConfigFor } from '../../src/config/load.js'
import { LOGIN_APP_CONFIG, type LoginAppConfig } from '../../src/login-app/config.js'
import { createLoginApp, type LoginApp } from '../../src/login-app/server.js'
import { passwordHasher } from '../../src/login-app/users.js'
import { createLogger } from '../../src/observability/logger.js'
import type { AdminDouble } from './hydra-admin-double.js'

/** The test users: hashes with the fewest iterations the hasher takes, so logins are quick. */
export async function writeUsersFile(): Promise<string> {
  const hasher = passwordHasher(1000)
  const doc = {
    users: [
      {
        username: 'foo@bar.com',
        password_hash: await hasher.hash('foobar'),
        claims: { name: 'Foo Bar', email: 'foo@bar.com', email_verified: true, secret_note: 'never released' },
      },
      { username: 'alice', subject: 'user-alice', password_hash: await hasher.hash('correct horse'), claims: { name: 'Alice' } },
    ],
  }
  const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-login-app-')), 'users.yml')
  writeFileSync(file, stringify(doc))
  return file
}

/** The login app on 127.0.0.1, port 0, against the double's admin API; `double.appUrl` is set. */
export async function startAppAgainst(
  double: AdminDouble,
  raw: Record<string, unknown> = {},
): Promise<{ url: string; app: LoginApp; config: LoginAppConfig }> {
  const config = buildConfigFor(
    LOGIN_APP_CONFIG,
    { serve: { host: '127.0.0.1', port: 0 }, urls: { admin: double.url, public: double.url, self: 'http://127.0.0.1:3000/' }, users_file: await writeUsersFile(), ...raw },
    {},
  )
  const app = createLoginApp(config, { logger: createLogger({ level: 'silent', format: 'json' }) })
  const a: AddressInfo = await app.start()
  const url = `http://127.0.0.1:${a.port}`
  double.appUrl = url
  return { url, app, config }
}

/** A browser's cookies, kept by name (enough for one origin). */
export class Browser {
  readonly cookies = new Map<string, string>()
  constructor(readonly base: string) {}

  async get(path: string) {
    return this.send('GET', path)
  }

  async post(path: string, form: Record<string, string | string[]>, contentType = 'application/x-www-form-urlencoded') {
    const body = new URLSearchParams()
    for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) body.append(k, one)
    return this.send('POST', path, body.toString(), contentType)
  }

  async send(method: string, path: string, body?: string, contentType?: string) {
    const headers: Record<string, string> = {}
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    if (contentType !== undefined) headers['content-type'] = contentType
    const res = await request(`${this.base}${path}`, { method, headers, body })
    for (const c of [res.headers['set-cookie'] ?? []].flat()) {
      const [pair] = c.split(';')
      const eq = pair!.indexOf('=')
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1))
    }
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
  }
}

/** A hidden field's value in a page (the app writes `name="…" value="…"`). */
export function hidden(page: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(page)
  if (m === null) throw new Error(`no hidden field ${name} in:\n${page}`)
  return m[1]!
}
