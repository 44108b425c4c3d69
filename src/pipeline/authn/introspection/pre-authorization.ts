import { request, type Dispatcher } from 'undici'
import { discard, readJson } from './http.js'

/** What a client credentials grant needs (`pre_authorization` without `enabled`). */
export interface ClientCredentialsSettings {
  readonly tokenUrl: string
  readonly clientId: string
  readonly clientSecret: string
  readonly scope: readonly string[]
  readonly audience: string
}

/**
 * How long before its expiry a token is replaced: 10 s as golang.org/x/oauth2 (which Oathkeeper
 * uses) does, but never more than half the token's lifetime, so short-lived tokens are still
 * reused instead of being fetched for every call.
 */
export const EARLY_REFRESH_MS = 10_000

/**
 * A bearer token obtained with the client credentials grant (RFC 6749 §4.4) for calling a
 * protected introspection endpoint. Kept until shortly before it expires; concurrent callers
 * share one token request. Shared by every rule with the same credentials (see SharedResources).
 */
export class ClientCredentialsToken {
  #token: string | undefined
  #refreshAt = 0
  #pending: Promise<string> | undefined
  /** Token requests made; read by tests and, later, metrics. */
  fetches = 0

  constructor(
    private readonly settings: ClientCredentialsSettings,
    private readonly http: Dispatcher,
  ) {}

  /** The current token, or a promise of a fresh one. `timeoutMs` bounds a token request. */
  get(timeoutMs: number): string | Promise<string> {
    if (this.#token !== undefined && Date.now() < this.#refreshAt) return this.#token
    if (this.#pending === undefined) {
      this.#pending = this.#fetch(timeoutMs).finally(() => {
        this.#pending = undefined
      })
    }
    return this.#pending
  }

  /** Forgets `token` (the endpoint refused it, e.g. it was revoked) unless a newer one replaced it. */
  invalidate(token: string): void {
    if (this.#token === token) this.#token = undefined
  }

  dispose(): void {
    this.#token = undefined
  }

  async #fetch(timeoutMs: number): Promise<string> {
    this.fetches++
    const s = this.settings
    const form = new URLSearchParams({ grant_type: 'client_credentials' })
    if (s.scope.length > 0) form.set('scope', s.scope.join(' '))
    if (s.audience !== '') form.set('audience', s.audience)
    const started = Date.now()
    const res = await request(s.tokenUrl, {
      method: 'POST',
      dispatcher: this.http,
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(s.clientId, s.clientSecret), accept: 'application/json' },
      body: form.toString(),
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (res.statusCode !== 200) {
      await discard(res.body)
      throw new Error(`the token endpoint answered ${res.statusCode}`)
    }
    const body = (await readJson(res.body)) as { access_token?: unknown; expires_in?: unknown } | null
    const token = body?.access_token
    if (typeof token !== 'string' || token === '') throw new Error('the token endpoint answered without an access_token')
    const expiresIn = body?.expires_in
    // Without expires_in the token is kept until the introspection endpoint refuses it, as x/oauth2 does.
    const lifetimeMs = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn * 1000 : Infinity
    this.#refreshAt = started + lifetimeMs - Math.min(EARLY_REFRESH_MS, lifetimeMs / 2)
    this.#token = token
    return token
  }
}

/** client_secret_basic (RFC 6749 §2.3.1): both parts form-urlencoded before base64. */
function basicAuth(id: string, secret: string): string {
  const enc = (v: string): string => encodeURIComponent(v).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`
}
