/**
 * The URL rules of Hydra's client validator (client/validator.go), with its hints, so that a
 * client refused by Hydra is refused here with the same `error` and `error_description`.
 * Stricter than Hydra in one place, said where: redirect and request URIs must be absolute.
 */
import { invalidClientMetadata, invalidRedirectUri } from './oauth-error.js'

type Fields = Readonly<Record<string, unknown>>

const list = (data: Fields, f: string): string[] => (data[f] as string[] | null) ?? []
const parse = (u: string): URL | undefined => (URL.canParse(u) ? new URL(u) : undefined)

/** Checks every URL field of a client document; throws the first problem, as Hydra does. */
export function checkClientUrls(data: Fields): void {
  for (const f of ['tos_uri', 'policy_uri', 'logo_uri', 'client_uri'] as const) checkWebPage(f, data[f] as string)
  for (const o of list(data, 'allowed_cors_origins')) checkOrigin(o)
  const redirects = list(data, 'redirect_uris').map(checkRedirect)
  for (const u of list(data, 'post_logout_redirect_uris')) checkPostLogout(u, redirects)
  for (const u of list(data, 'request_uris')) {
    const url = parse(u)
    if (url === undefined || url.hash !== '') throw invalidClientMetadata(`request_uris: "${u}" must be an absolute URL without a fragment`)
  }
}

/** tos_uri, policy_uri, logo_uri and client_uri are web pages: http(s) only (no `javascript:`). */
function checkWebPage(field: string, uri: string): void {
  if (uri === '') return
  const url = parse(uri)
  if (url === undefined) throw invalidClientMetadata(`Field ${field} must be a valid URI.`)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidClientMetadata(`${uri} must use https:// or http:// as HTTP scheme for field ${field}.`)
}

/** A CORS origin: scheme and authority, nothing else (a trailing slash is tolerated, as in Hydra). */
function checkOrigin(o: string): void {
  const url = parse(o)
  if (url === undefined) throw invalidClientMetadata(`Origin URL ${o} from allowed_cors_origins could not be parsed.`)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidClientMetadata(`Origin URL ${o} must use https:// or http:// as HTTP scheme.`)
  if (url.username !== '' || url.password !== '') throw invalidClientMetadata(`Origin URL ${o} has HTTP user and/or password set which is not allowed.`)
  // The URL parser reads "https://a.test/x/.." as "/": the path is judged on the text as sent.
  const rest = o.slice(o.indexOf('//') + 2).replace(/^[^/?#]*/, '').replace(/\/+$/, '')
  if (rest !== '') throw invalidClientMetadata(`Origin URL ${o} must have an empty path, query, and fragment but one of the parts is not empty.`)
}

/** Hydra refuses fragments under invalid_redirect_uri; an absolute URL is required here (Hydra also takes a bare path). */
function checkRedirect(u: string): URL {
  if (u.includes('#')) throw invalidRedirectUri('Redirect URIs must not contain fragments (#).')
  const url = parse(u)
  if (url === undefined) throw invalidRedirectUri(`Unable to parse redirect URL: ${u}`)
  return url
}

/**
 * A post-logout redirect shares scheme, host and port with one of the client's redirect URIs,
 * so a client cannot send users to a site it does not control at logout.
 */
function checkPostLogout(u: string, redirects: readonly URL[]): void {
  const url = parse(u)
  if (url === undefined || url.hash !== '') throw invalidClientMetadata(`Unable to parse post_logout_redirect_uri: ${u}`)
  if (!redirects.some((r) => r.protocol === url.protocol && r.hostname === url.hostname && r.port === url.port)) {
    throw invalidClientMetadata(`post_logout_redirect_uri "${u}" must match the domain, port, scheme of at least one of the registered redirect URIs but did not`)
  }
}
