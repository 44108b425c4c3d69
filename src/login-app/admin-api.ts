/**
 * The part of Hydra's admin API a login app uses (`/admin/oauth2/auth/requests/{login,consent,
 * logout}` and their `accept` / `reject`), over HTTP, as any external login app calls it. The
 * types are the fields this app reads or sends, named as in Hydra's OpenAPI spec
 * (@ory/hydra-client's OAuth2LoginRequest, AcceptOAuth2LoginRequest, …; a test checks they fit).
 */
import { request } from 'undici'
import { withSlash } from './config.js'

/** The client as a login request shows it (Hydra's full client JSON; only these are read). */
export interface RequestClient {
  readonly client_id?: string
  readonly client_name?: string
  readonly client_uri?: string
}

/** `GET …/requests/login`. */
export interface LoginRequest {
  readonly challenge: string
  readonly client: RequestClient
  readonly request_url: string
  readonly requested_scope: readonly string[]
  readonly requested_access_token_audience: readonly string[]
  readonly skip: boolean
  readonly subject: string
}

/** `GET …/requests/consent`. */
export interface ConsentRequest {
  readonly challenge: string
  readonly client?: RequestClient
  readonly requested_scope?: readonly string[]
  readonly requested_access_token_audience?: readonly string[]
  readonly skip?: boolean
  readonly subject?: string
}

/** `GET …/requests/logout`. */
export interface LogoutRequest {
  readonly challenge?: string
  readonly client?: RequestClient | null
  readonly rp_initiated?: boolean
  readonly subject?: string
}

export interface AcceptLogin {
  readonly subject: string
  readonly remember?: boolean
  readonly remember_for?: number
  readonly acr?: string
  readonly amr?: readonly string[]
}

export interface AcceptConsent {
  readonly grant_scope: readonly string[]
  readonly grant_access_token_audience: readonly string[]
  readonly remember?: boolean
  readonly remember_for?: number
  readonly session?: { readonly id_token?: Record<string, unknown>; readonly access_token?: Record<string, unknown> }
}

export interface Reject {
  readonly error: string
  readonly error_description?: string
}

export type Flow = 'login' | 'consent' | 'logout'

/** What the admin API answered when it was not a success; the pages turn it into a message. */
export class AdminApiError extends Error {
  /**
   * @param status the admin API's status (0: unreachable)
   * @param redirectTo Hydra answers 410 with `redirect_to` for a request already handled: the
   *   browser can be sent on instead of shown an error.
   */
  constructor(
    readonly status: number,
    message: string,
    readonly redirectTo?: string,
  ) {
    super(message)
    this.name = 'AdminApiError'
  }
}

/** The admin API calls a login app makes. */
export interface AdminApi {
  getLogin(challenge: string): Promise<LoginRequest>
  acceptLogin(challenge: string, body: AcceptLogin): Promise<string>
  getConsent(challenge: string): Promise<ConsentRequest>
  acceptConsent(challenge: string, body: AcceptConsent): Promise<string>
  getLogout(challenge: string): Promise<LogoutRequest>
  acceptLogout(challenge: string): Promise<string>
  /** Login and consent answer `redirect_to`; logout answers 204 (Hydra's), hence `undefined`. */
  reject(flow: Flow, challenge: string, body: Reject): Promise<string | undefined>
}

/** Bounds on one admin call: the admin API is local and quick; a hung one must not hang the page. */
const TIMEOUT_MS = 10_000

/**
 * The admin API client; `apiKey` (one of the token server's `serve.admin.auth.api_keys`) is sent
 * as `Authorization: Bearer …` when not empty.
 */
export function createAdminApi(adminUrl: string, apiKey: string): AdminApi {
  const base = withSlash(adminUrl)
  const headers: Record<string, string> = { accept: 'application/json' }
  if (apiKey !== '') headers.authorization = `Bearer ${apiKey}`

  async function call(method: 'GET' | 'PUT', flow: Flow, challenge: string, action: string, body?: unknown): Promise<unknown> {
    const url = new URL(`admin/oauth2/auth/requests/${flow}${action}`, base)
    url.searchParams.set(`${flow}_challenge`, challenge)
    let res
    try {
      res = await request(url, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
      })
    } catch (err) {
      throw new AdminApiError(0, `the admin API at ${base} cannot be reached: ${(err as Error).message}`)
    }
    const text = await res.body.text()
    let json: unknown
    try {
      json = text === '' ? undefined : JSON.parse(text)
    } catch {
      throw new AdminApiError(502, `the admin API answered ${res.statusCode} with a body that is not JSON`)
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return json
    const doc = (json ?? {}) as { error?: unknown; error_description?: unknown; redirect_to?: unknown }
    const why = typeof doc.error_description === 'string' ? doc.error_description : typeof doc.error === 'string' ? doc.error : ''
    throw new AdminApiError(res.statusCode, why, typeof doc.redirect_to === 'string' ? doc.redirect_to : undefined)
  }

  async function redirect(flow: Flow, challenge: string, action: string, body: unknown): Promise<string> {
    const doc = (await call('PUT', flow, challenge, action, body)) as { redirect_to?: unknown } | undefined
    if (typeof doc?.redirect_to !== 'string') throw new AdminApiError(502, 'the admin API answered without redirect_to')
    return doc.redirect_to
  }

  return {
    getLogin: async (c) => (await call('GET', 'login', c, '')) as LoginRequest,
    acceptLogin: (c, body) => redirect('login', c, '/accept', body),
    getConsent: async (c) => (await call('GET', 'consent', c, '')) as ConsentRequest,
    acceptConsent: (c, body) => redirect('consent', c, '/accept', body),
    getLogout: async (c) => (await call('GET', 'logout', c, '')) as LogoutRequest,
    acceptLogout: (c) => redirect('logout', c, '/accept', {}),
    async reject(flow, c, body) {
      if (flow !== 'logout') return redirect(flow, c, '/reject', body)
      await call('PUT', flow, c, '/reject', body)
      return undefined
    },
  }
}
