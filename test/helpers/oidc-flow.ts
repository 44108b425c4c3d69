/**
 * The two sides of Hydra's login/consent protocol for tests: a browser (undici, no redirects
 * followed, a cookie jar parsed with `cookie`) and a login/consent app driving the admin API with
 * the official SDK (@ory/hydra-client). Plus a recording AuthorizationIssuer: the flow's tests
 * check what the flow hands to issuance, not issuance itself.
 */
import { Configuration, OAuth2Api } from '@ory/hydra-client'
import { parseSetCookie } from 'cookie'
import { request } from 'undici'
import type { AuthorizationIssuer, GrantedAuthorization } from '../../src/token-server/oidc/authorization.js'

export interface Visit {
  readonly status: number
  readonly location: string | undefined
  readonly body: string
  readonly setCookies: readonly string[]
}

/** A browser: keeps the cookies the server sets (by name; Max-Age=0 deletes), follows nothing. */
export class Browser {
  readonly jar = new Map<string, string>()

  async visit(url: string, opts: { method?: 'GET' | 'POST'; form?: Record<string, string> } = {}): Promise<Visit> {
    const headers: Record<string, string> = {}
    if (this.jar.size > 0) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ')
    let body: string | undefined
    if (opts.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(opts.form).toString()
    }
    const res = await request(url, { method: opts.method ?? 'GET', headers, body })
    const text = await res.body.text()
    const raw = res.headers['set-cookie']
    const setCookies = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
    for (const line of setCookies) {
      const c = parseSetCookie(line)
      if (c.maxAge !== undefined && c.maxAge <= 0) this.jar.delete(c.name)
      else this.jar.set(c.name, c.value ?? '')
    }
    const location = res.headers.location
    return { status: res.statusCode, location: Array.isArray(location) ? location[0] : location, body: text, setCookies }
  }
}

/** The SDK a login/consent app would use, against the admin URL. */
export function adminSdk(adminUrl: string): OAuth2Api {
  return new OAuth2Api(new Configuration({ basePath: adminUrl }))
}

/** An issuer that records what it was given and answers a code derived from the grant. */
export class RecordingIssuer implements AuthorizationIssuer {
  readonly granted: GrantedAuthorization[] = []

  async issue(granted: GrantedAuthorization): Promise<Record<string, string>> {
    this.granted.push(granted)
    return { code: `code-for-${granted.grant_id}`, scope: granted.granted_scope.join(' ') }
  }
}

/** A query parameter of a URL (or of its fragment, for implicit responses). */
export function param(url: string | undefined, name: string, where: 'query' | 'fragment' = 'query'): string | null {
  if (url === undefined) return null
  const u = new URL(url)
  return (where === 'query' ? u.searchParams : new URLSearchParams(u.hash.slice(1))).get(name)
}
