/**
 * The token server as a real child process (`node dist/cli/main.js token-server serve all -c …`)
 * over SQLite (a file) or Postgres (a schema of its own), migrated with the CLI, for end-to-end
 * tests with real relying-party libraries.
 *
 * The server listens on port 0, so its issuer cannot be its address: the issuer is a fixed name
 * (`http://gatehouse.test/`), and `fetchLocal` / `local` carry requests for it to wherever the
 * process listens, as a hosts entry would. Issuer checks of the clients stay exact.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { OAuth2ConsentRequest, OAuth2LoginRequest } from '@ory/hydra-client'
import type { Test } from 'tap'
import { clean, run, start } from './cli.js'
import { adminSdk, param, type Browser } from './oidc-flow.js'
import { adminQuery, postgresDsn, storeSelection, uniqueSchema } from './stores.js'

export const ISSUER = 'http://gatehouse.test/'
export const ADMIN = 'http://gatehouse-admin.test/'
export const LOGIN = 'http://login.test/login'
export const CONSENT = 'http://login.test/consent'
export const LOGOUT = 'http://login.test/logout'
export const SECRET = 'e2e-oidc-system-secret-0123456789'

/** A store the server process runs on: a DSN, fresh per test, removed at teardown. */
export interface ProcessStore {
  readonly name: 'sqlite' | 'postgres'
  dsn(t: Test): string
}

export const PROCESS_STORES: readonly ProcessStore[] = [
  {
    name: 'sqlite',
    dsn(t) {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-oidc-'))
      t.teardown(() => rmSync(dir, { recursive: true, force: true }))
      return `sqlite://${join(dir, 'db.sqlite')}`
    },
  },
  {
    name: 'postgres',
    dsn(t) {
      const schema = uniqueSchema()
      t.teardown(async () => void (await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)))
      return postgresDsn({ sslmode: 'disable', search_path: schema })
    },
  },
]

/**
 * One subtest per store the process runs on, titled `title [store]`; a store left out by
 * GATEHOUSE_TEST_STORES is a skipped subtest (CI refuses the variable), as forEachStore does.
 */
export function forEachProcessStore(t: Test, title: string, timeout: number, fn: (t: Test, store: ProcessStore) => Promise<void>): void {
  const leftOut = storeSelection()
  for (const store of PROCESS_STORES) {
    const skip = leftOut(store.name)
    t.test(`${title} [${store.name}]`, skip === undefined ? { timeout } : { skip }, (t) => fn(t, store))
  }
}

export interface ServerProcess {
  readonly child: import('node:child_process').ChildProcess
  readonly publicUrl: string
  readonly adminUrl: string
  output(): string
  stop(): Promise<void>
  /** A URL on the issuer or admin name, as the process's real address. */
  local(url: string | URL): string
  /** fetch() that reaches the process for the issuer and admin names (for customFetch). */
  fetchLocal(url: string | URL, init?: RequestInit): Promise<Response>
}

/** Writes the process's config file (JSON), migrates the store with the CLI; returns `serve`. */
export async function prepareServer(t: Test, store: ProcessStore, config: Record<string, unknown> = {}): Promise<{ serve(): Promise<ServerProcess> }> {
  const dsn = store.dsn(t)
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-config-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'token-server.json')
  writeFileSync(
    file,
    JSON.stringify({
      dsn,
      serve: { public: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } },
      secrets: { system: [SECRET] },
      oauth2: { hashers: { pbkdf2: { iterations: 1000 } } },
      urls: { self: { issuer: ISSUER, admin: ADMIN }, login: LOGIN, consent: CONSENT, logout: LOGOUT },
      log: { level: 'info', format: 'json' },
      ...config,
    }),
  )
  const migrated = await run(['token-server', 'migrate', 'sql', dsn, '--yes'], { timeoutMs: 60_000 })
  if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.stderr}`)
  return { serve: () => serve(t, file) }
}

const BOTH = /public API listening[\s\S]*admin API listening|admin API listening[\s\S]*public API listening/

async function serve(t: Test, file: string): Promise<ServerProcess> {
  const p = await start(['token-server', 'serve', 'all', '--dev', '-c', file], BOTH, { env: clean(), timeoutMs: 60_000 })
  t.teardown(() => p.stop())
  const ports: Record<string, string> = {}
  for (const m of p.output().matchAll(/"port":(\d+),"msg":"token server (public|admin) API listening"/g)) ports[m[2]!] = m[1]!
  if (ports.public === undefined || ports.admin === undefined) throw new Error(`no ports in the output:\n${p.output()}`)
  const publicUrl = `http://127.0.0.1:${ports.public}`
  const adminUrl = `http://127.0.0.1:${ports.admin}`
  const local = (url: string | URL): string => {
    const s = url.toString()
    if (s.startsWith(ISSUER)) return `${publicUrl}/${s.slice(ISSUER.length)}`
    if (s.startsWith(ADMIN)) return `${adminUrl}/${s.slice(ADMIN.length)}`
    return s
  }
  return {
    child: p.child,
    publicUrl,
    adminUrl,
    output: p.output,
    stop: p.stop,
    local,
    fetchLocal: (url, init) => fetch(local(url), init),
  }
}

/** The `{ error, error_description }` body of an RFC 6749 error, checked to carry no stack trace. */
export function isCleanError(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false
  const text = JSON.stringify(body)
  return typeof (body as { error?: unknown }).error === 'string' && !/\bat .+\(.+:\d+:\d+\)|node:internal|\/src\/|\/dist\//.test(text)
}

/**
 * A browser (undici, cookie jar) going from an authorization URL to the client's redirect URI,
 * with the login and consent app played by the test through @ory/hydra-client, as a login app
 * would: read the request, accept it, send the browser to `redirect_to`. Returns the final
 * Location (the client's redirect URI with code or error) and what the login app saw.
 */
export async function signIn(
  s: ServerProcess,
  b: Browser,
  authorizationUrl: string | URL,
  opts: { subject?: string; session?: Record<string, unknown>; remember?: boolean } = {},
): Promise<{ location: string; login: OAuth2LoginRequest; consent: OAuth2ConsentRequest }> {
  const sdk = adminSdk(s.adminUrl)
  const first = await b.visit(s.local(authorizationUrl))
  const loginChallenge = param(first.location, 'login_challenge')
  if (first.status !== 302 || !first.location?.startsWith(`${LOGIN}?`) || loginChallenge === null) throw new Error(`not sent to login: ${first.status} ${first.location} ${first.body}`)
  const { data: login } = await sdk.getOAuth2LoginRequest({ loginChallenge })
  const { data: accepted } = await sdk.acceptOAuth2LoginRequest({ loginChallenge, acceptOAuth2LoginRequest: { subject: opts.subject ?? 'alice@example.test', remember: opts.remember ?? false, acr: '1', amr: ['pwd'] } })
  const second = await b.visit(s.local(accepted.redirect_to))
  const consentChallenge = param(second.location, 'consent_challenge')
  if (second.status !== 302 || !second.location?.startsWith(`${CONSENT}?`) || consentChallenge === null) throw new Error(`not sent to consent: ${second.status} ${second.location} ${second.body}`)
  const { data: consent } = await sdk.getOAuth2ConsentRequest({ consentChallenge })
  const { data: done } = await sdk.acceptOAuth2ConsentRequest({
    consentChallenge,
    acceptOAuth2ConsentRequest: {
      grant_scope: consent.requested_scope ?? [],
      grant_access_token_audience: consent.requested_access_token_audience ?? [],
      remember: opts.remember ?? false,
      session: { id_token: opts.session ?? { email: 'alice@example.test', email_verified: true } },
    },
  })
  const last = await b.visit(s.local(done.redirect_to))
  if (last.location === undefined) throw new Error(`not sent to the client: ${last.status} ${last.body}`)
  return { location: last.location, login, consent }
}
